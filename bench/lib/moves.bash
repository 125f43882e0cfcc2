# shellcheck shell=bash
# One migration as bench/migration and bench/migration-control record it.
#
#   bench_move SRC DST KIND   migrate the guest (lv_migrate), print
#       "SRC DST KIND T0 T1 WALL_MS DOWNTIME_MS JOB_MS RAM_MIB": start and
#       end in the hosts' clock, virsh's wall time, and from libvirt's
#       record of the finished job on the destination QEMU's downtime, the
#       job's time and the RAM QEMU sent (jobinfo.awk; "-" where libvirt
#       gave none)
bench_move() {
	local t0 t1
	t0=$(tb__now)
	lv_migrate "$1" "$2" >/dev/null || return 1
	t1=$(tb__now)
	echo "$1 $2 $3 $t0 $t1 $LV_MIG_MS $(lv_jobinfo "$2" 2>/dev/null | awk -F: -f "$(dirname "${BASH_SOURCE[0]}")/jobinfo.awk")"
}
