#!/usr/bin/env python3
"""bench/tunnel's throughput summary: the median of each way in (DR, IPIP, GUE) over the
repeats, delivered packets per second and lvs_decap's run time, and each tunnel against DR.
Arguments: six space-separated lists: pps of dr, ipip, gue, then ns per run of dr, ipip, gue."""
import statistics
import sys

dr, ipip, gue, ns_dr, ns_ipip, ns_gue = (statistics.median(float(x) for x in a.split()) for a in sys.argv[1:7])
print(f"median delivered: DR {dr:.0f} pps, IPIP {ipip:.0f} pps, GUE {gue:.0f} pps")
print(f"median lvs_decap run time: {ns_dr:.0f} ns per packet passed (DR), "
      f"{ns_ipip:.0f} ns per IPIP and {ns_gue:.0f} ns per GUE packet decapsulated")
for name, v in (("IPIP", ipip), ("GUE", gue)):
    verdict = "within" if v >= 0.9 * dr else "NOT within"
    print(f"{name} delivers {v / dr * 100:.1f} % of DR's packets per second ({verdict} 10 %)")
