# Turns run.sh's `result` lines into the table, the ratios and the summary.
{
	for (i = 2; i <= NF; i++) {
		split($i, kv, "=")
		v[kv[1]] = kv[2]
	}
	p = v["peer"]; n = v["n"]
	tps[p, n] = v["tps"]; p50[p, n] = v["p50_us"]; p99[p, n] = v["p99_us"]
	bytes[p, n] = v["bytes_per_tr"]; rss[p, n] = v["rss_kb"]; batch[p, n] = v["batch"]
	failed[p, n] = v["failed"]; delete v
	if (!(n in seen)) { seen[n] = 1; ns[++nn] = n }
}
function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
END {
	np = split("docket docket-case docket-noop postgresql sqlite raw-lmdb", peers, " ")
	printf "%-11s %4s %12s %10s %10s %11s %10s %7s\n", "peer", "N", "transit/s",
	       "p50 ms", "p99 ms", "bytes/tr", "RSS MiB", "batch"
	for (j = 1; j <= nn; j++)
		for (k = 1; k <= np; k++) {
			p = peers[k]; n = ns[j]
			if (!((p, n) in tps)) continue
			printf "%-11s %4d %12.0f %10.2f %10.2f %11.0f %10.1f %7s%s\n", p, n,
			       tps[p, n], p50[p, n] / 1000, p99[p, n] / 1000, bytes[p, n],
			       rss[p, n] / 1024, p ~ /^docket/ || p == "raw-lmdb" ? batch[p, n] : "-",
			       failed[p, n] ? "  FAILED" : ""
		}
	print ""
	printf "%4s %18s %14s %16s %22s %23s %23s\n", "N", "docket/postgresql", "docket/sqlite",
	       "docket/raw-lmdb", "p50 docket/postgresql", "docket-case/raw-lmdb",
	       "docket-noop/postgresql"
	for (j = 1; j <= nn; j++) {
		n = ns[j]
		printf "%4d %18s %14s %16s %22s %23s %23s\n", n, ratio(tps["docket", n], tps["postgresql", n]),
		       ratio(tps["docket", n], tps["sqlite", n]), ratio(tps["docket", n], tps["raw-lmdb", n]),
		       ratio(p50["docket", n], p50["postgresql", n]),
		       ratio(tps["docket-case", n], tps["raw-lmdb", n]),
		       ratio(tps["docket-noop", n], tps["postgresql", n])
	}
	print ""
	printf "summary: docket/postgresql=%s docket/sqlite=%s docket/raw-lmdb=%s at N=64\n",
	       ratio(tps["docket", 64], tps["postgresql", 64]), ratio(tps["docket", 64], tps["sqlite", 64]),
	       ratio(tps["docket", 64], tps["raw-lmdb", 64])
	printf "summary-case: docket-case/postgresql=%s docket-case/raw-lmdb=%s at N=64\n",
	       ratio(tps["docket-case", 64], tps["postgresql", 64]),
	       ratio(tps["docket-case", 64], tps["raw-lmdb", 64])
	printf "summary-noop: docket-noop/postgresql=%s at N=64\n",
	       ratio(tps["docket-noop", 64], tps["postgresql", 64])
}
