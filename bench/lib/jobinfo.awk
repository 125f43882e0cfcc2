# libvirt's record of a finished migration (virsh domjobinfo --completed,
# run with awk -F:) as one line "DOWNTIME_MS JOB_MS RAM_MIB": QEMU's total
# downtime, the job's time and the RAM QEMU sent ("Memory processed"),
# "-" for what libvirt did not give, so the columns stay in place.
function num(s) { gsub(/^[ \t]+/, "", s); split(s, f, /[ \t]+/); return f[1] }
function mib(s,  v, u) {
	gsub(/^[ \t]+/, "", s); split(s, f, /[ \t]+/); v = f[1]; u = f[2]
	return u == "GiB" ? v * 1024 : u == "KiB" ? v / 1024 : u == "B" ? v / 1048576 : v
}
$1 ~ /^Total downtime$/ { d = num($2) }
$1 ~ /^Time elapsed$/ { j = num($2) }
$1 ~ /^Memory processed$/ { m = sprintf("%.2f", mib($2)) }
END { print (d == "" ? "-" : d), (j == "" ? "-" : j), (m == "" ? "-" : m) }
