#!/usr/bin/env bash
# Regenerate docs/images/: a few pages of one booklet per plan, as README shows them.
# Needs packgen importable (the venv from scripts/setup.sh) and poppler-utils (pdftoppm, pdftotext).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1796000000} "$python" -m packgen build profiles -o "$out" \
  --only QS0001,QS0036,QS0037 -j 2 --quiet

# first page, from page 4 on (after cover, letter and contents), with a line that is exactly $2
page_of() {
  local pdf=$1 heading=$2 pages p
  pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
  for ((p = 4; p <= pages; p++)); do
    if pdftotext -f "$p" -l "$p" "$pdf" - | grep -qx "$heading"; then echo "$p"; return; fi
  done
  echo "no page with the heading '$heading' in $pdf" >&2; exit 1
}

shoot() {  # plan, member id, heading of the plan's own page
  local plan=$1 pdf="$out/booklets/$2.pdf" own
  own=$(page_of "$pdf" "$3")
  local -a pages=(1 2 3 "$own" "$(page_of "$pdf" 第一章)" "$(page_of "$pdf" 学习记录表)")
  local -a names=(cover letter contents "${4}" chapter records)
  rm -f docs/images/"$plan"-*.png
  for i in "${!pages[@]}"; do
    pdftoppm -r 70 -png -singlefile -f "${pages[$i]}" -l "${pages[$i]}" "$pdf" \
      "docs/images/$plan-$((i + 1))-${names[$i]}"
  done
}

shoot self_study QS0036 学习安排 schedule
shoot online QS0037 线上课程与活动 qr-codes
shoot delivered QS0001 送学上门安排 delivery
ls -l docs/images
