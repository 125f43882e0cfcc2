# Prometheus metrics in the tests: fetch a daemon's GET /metrics inside its
# namespace, check the exposition with promtool, read one sample.
#
#   metrics_get NS ADDR PORT >FILE     (curl, inside NS)
#   metrics_check FILE                 promtool check metrics; skips when
#                                      promtool is missing (Debian: prometheus)
#   metric FILE 'NAME{LABELS}'         the sample's value (empty if absent)

metrics_get() {
	ip netns exec "$1" curl -gsSf --max-time 5 "http://[$2]:$3/metrics"
}

metrics_check() {
	command -v promtool >/dev/null || skip "promtool is not installed (Debian package prometheus)"
	# promtool prints lint problems (naming, units) and fails on them
	promtool check metrics <"$1"
}

metric() {
	awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}
