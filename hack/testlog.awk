# Shows what failed in go test -v's output: each test's lines are kept
# under its name (=== RUN/CONT/NAME say whose they are) and printed after
# its --- FAIL line; a package that fails without one (a panic, the
# timeout) prints what its unfinished tests wrote. Lines outside tests
# (build errors) and the package results are printed as they come.
/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
/^ *--- FAIL: / { print; printf "%s", buf[$3]; delete buf[$3]; next }
/^ *--- (PASS|SKIP): / { delete buf[$3]; next }
/^(PASS|FAIL)$/ { cur = ""; print; next }
/^FAIL[ \t]/ { for (t in buf) { print "--- unfinished: " t; printf "%s", buf[t] } ; delete buf; cur = ""; print; next }
/^(ok|\?)[ \t]/ { delete buf; cur = ""; print; next }
cur == "" { print; next }
{ buf[cur] = buf[cur] $0 "\n" }
