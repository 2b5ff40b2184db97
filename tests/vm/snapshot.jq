# SPDX-License-Identifier: GPL-2.0-only
# Verdict on `portburn snapshot --json` (used by checks.sh, run with jq -n -r):
# $f = facts of `pbvm-conn hold` (ports held open, ports left in TIME_WAIT),
# $s = the snapshot, $mode = the mode it must report, $cg = the helper's
# cgroup path. The destination (netns, daddr, dport) must count exactly the
# open and TIME_WAIT sockets; the open ones owned by $cg, the TIME_WAIT ones
# (which predate the snapshot and carry no cgroup) by $cg or the namespace.
# Output: "" when it agrees, else the problems joined by "; ".
def num: if type == "string" then (tonumber? // .) else . end;
$f[0] as $f | $s[0] as $s | ($f.sports | length) as $open
| ($f.tw_sports | length) as $tw | "netns:\($f.netns)" as $ns
| [$s.destinations[]? | select((.netns | num) == $f.netns and .daddr == $f.daddr
			       and (.dport | num) == $f.dport)] as $d
| (if $s.mode == $mode then [] else ["mode is \($s.mode // "missing"), want \($mode)"] end)
  + if ($d | length) != 1 then
	["\($d | length) destinations \($f.daddr):\($f.dport) in netns \($f.netns), want 1"]
    else $d[0] as $x
	| (if ($x.open | num) == $open and ($x.time_wait | num) == $tw
	      and ($x.in_use | num) == $open + $tw then []
	   else ["open/time_wait/in_use \($x.open)/\($x.time_wait)/\($x.in_use), "
		 + "want \($open)/\($tw)/\($open + $tw)"] end)
	+ ([$x.owners[]? | select(.owner == $cg) | .open | num] | add // 0
	   | if . == $open then [] else
		["\(.) open owned by \($cg), want \($open); owners: "
		 + "\([$x.owners[]? | {owner, open, time_wait}] | tostring)"] end)
	+ ([$x.owners[]? | select(.owner == $cg or .owner == $ns) | .time_wait | num]
	   | add // 0 | if . == $tw then [] else
		["\(.) TIME_WAIT owned by \($cg) or \($ns), want \($tw)"] end)
    end
| join("; ")
