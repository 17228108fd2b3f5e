#!/usr/bin/env bash
# Grades a learner's copy of a katas course the way MIT 6.5840 grades its labs: one
# `katas verify` per stage, each under a time limit, the stages of a track under a limit for the
# whole suite, one JUnit file per stage for the CI to show. Both workflows in classroom/workflows/
# run it; docs/teachers-guide.md explains it step by step.
#
# usage: grade.sh KATAS SUBMISSION REFERENCE OUT_DIR STAGE_SECS SUITE_SECS [TRACK/STAGE...]
#   KATAS        the katas binary, built from the teacher's copy of the course
#   SUBMISSION   the learner's course folder (the one with info.toml)
#   REFERENCE    the teacher's course (its info.toml and course/ suffice): the trusted tests
#   OUT_DIR      where the JUnit files go, one per stage: TRACK.STAGE.xml
#   STAGE_SECS   the time limit of one stage, build included (6.5840: 120)
#   SUITE_SECS   the time limit of all the stages of one track graded into OUT_DIR, across calls
#                (6.5840: 600); a stage that starts after it is used up fails without running
#   TRACK/STAGE  the stages to grade; none: every stage of REFERENCE (needs jq)
#
# The exit code is the worst of the stages, in katas' exit-code table: 3 a stage's tests were
# edited (tampered), 4 the submission's course does not load, 5 katas could not grade, 1 a stage
# failed or ran out of time, 0 every stage passed.
set -u

usage() {
  sed -n '7,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 6 ] || usage
katas=$1 submission=$2 reference=$3 out=$4 stage_secs=$5 suite_secs=$6
shift 6
for n in "$stage_secs" "$suite_secs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "grade.sh: '$n' is not a number of seconds" >&2; usage; }
done
[ -x "$katas" ] || { echo "grade.sh: $katas is not an executable katas" >&2; exit 5; }
mkdir -p "$out" || exit 5

if [ $# -gt 0 ]; then
  stages=("$@")
else
  command -v jq >/dev/null || { echo "grade.sh: name the stages to grade, or install jq" >&2; exit 5; }
  mapfile -t stages < <("$katas" --course "$reference" list --format json |
    jq -r '.tracks[] | .id as $t | .stages[] | "\($t)/\(.id)"')
  [ ${#stages[@]} -gt 0 ] || { echo "grade.sh: no stages found in $reference" >&2; exit 5; }
fi

if command -v timeout >/dev/null; then
  limit=(timeout --kill-after=10)
elif command -v gtimeout >/dev/null; then
  limit=(gtimeout --kill-after=10)
else
  echo "note: no timeout command (coreutils): stages run without a time limit"
  limit=()
fi

xml_escape() {
  sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

# A JUnit file for a stage katas could not report on itself (out of time, or katas failed).
junit_failure() { # STAGE TYPE MESSAGE DETAILS
  local stage=$1 type=$2 message details
  message=$(printf '%s' "$3" | xml_escape)
  details=$(printf '%s' "$4" | xml_escape)
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="katas verify" tests="1" skipped="0" failures="1" errors="0">
    <testsuite name="$stage" tests="1" skipped="0" errors="0" failures="1">
        <testcase name="$type" classname="${stage//\//.}">
            <failure message="$message" type="$type">$details</failure>
        </testcase>
    </testsuite>
</testsuites>
EOF
}

# The failing tests of a JUnit file, with the first lines of what each said.
failures() {
  awk '
    /<testcase / { match($0, /name="[^"]*"/); name = substr($0, RSTART + 6, RLENGTH - 7) }
    /<(failure|error) / {
      match($0, /message="[^"]*"/); message = substr($0, RSTART + 9, RLENGTH - 10)
      print "    " name ": " message; shown = 0; inside = 1
      sub(/.*<(failure|error)[^>]*>/, "")
    }
    inside {
      done = sub(/<\/(failure|error)>.*/, "")
      if ($0 != "" && shown < 6) { print "      " $0; shown++ }
      if (done) inside = 0
    }
  ' "$1" | sed -e "s/&apos;/'/g" -e 's/&quot;/"/g' -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
}

# Higher is worse: tampered, course error, katas error, failed, passed.
rank() { case $1 in 3) echo 4 ;; 4) echo 3 ;; 5) echo 2 ;; 1) echo 1 ;; *) echo 0 ;; esac; }

worst=0
for stage in "${stages[@]}"; do
  track=${stage%%/*}
  file="$out/${stage//\//.}.xml"
  clock="$out/.suite-$track"
  [ -f "$clock" ] || date +%s >"$clock"
  left=$(($(cat "$clock") + suite_secs - $(date +%s)))
  if [ "$left" -le 0 ]; then
    why="not graded: the stages of $track used up the suite's ${suite_secs}s before it"
    junit_failure "$stage" "suite-time-limit" "$why" "" >"$file"
    echo "$stage: FAILED ($why)"
    code=1
  else
    secs=$((left < stage_secs ? left : stage_secs))
    rm -f "$file"
    ours=0
    said=$("${limit[@]}" ${limit[@]:+"$secs"} "$katas" verify --course "$submission" \
      --reference "$reference" --stage "$stage" --format junit --output "$file" 2>&1)
    code=$?
    case $code in
      0) echo "$stage: passed" ;;
      124 | 137)
        why="stopped at the time limit of ${secs}s (build and tests)"
        [ "$secs" -lt "$stage_secs" ] && why="$why: the suite's ${suite_secs}s ran out"
        junit_failure "$stage" "time-limit" "$why" "$said" >"$file" && ours=1
        echo "$stage: FAILED ($why)"
        code=1
        ;;
      *)
        case $code in
          1) echo "$stage: FAILED" ;;
          3) echo "$stage: TAMPERED (its tests were edited; graded with the trusted copy)" ;;
          4) echo "$stage: ERROR (the submission's course does not load, or has no such stage)" ;;
          *) echo "$stage: ERROR (katas could not grade it: exit code $code)"; code=5 ;;
        esac
        if [ ! -s "$file" ]; then
          junit_failure "$stage" "katas" "katas verify exited with code $code" "$said" >"$file"
          ours=1
        fi
        ;;
    esac
    [ "$code" -ne 0 ] && failures "$file"
    [ "$code" -ne 0 ] && [ "$ours" = 0 ] && [ -n "$said" ] && printf '%s\n' "$said" | head -n 20 | sed 's/^/    /'
  fi
  [ "$(rank "$code")" -gt "$(rank "$worst")" ] && worst=$code
done
exit "$worst"
