#!/usr/bin/env bash
# Regenerate docs/images/: a few pages of one booklet per plan, as README shows them.
# Needs packgen importable (the venv from scripts/setup.sh) and poppler-utils (pdftoppm, pdftotext).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1796000000}
"$python" -m packgen build profiles -o "$out" --only QS0001,QS0036,QS0037,QS0011 -j 2 --quiet --impose saddle
# the same for a print shop: 3 mm bleed, crop marks
sed -e 's/^  bleed: 0mm /  bleed: 3mm /' -e 's/^  crop_marks: false # true/  crop_marks: true  # true/' \
  packgen/config/default_config.yaml > "$out/shop.yaml"
"$python" -m packgen build profiles -c "$out/shop.yaml" -o "$out/shop" --only QS0001 -j 1 --quiet

# first page, from page $3 (4: after cover, letter and contents) on, with a line that is exactly $2
page_of() {
  local pdf=$1 heading=$2 pages p
  pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
  for ((p = ${3:-4}; p <= pages; p++)); do
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
# print shop, office printer, large print
pdftoppm -r 70 -png -singlefile -f 1 -l 1 "$out/shop/booklets/QS0001.pdf" docs/images/print-shop-cover-bleed-marks
# the third sheet of the first booklet (37 pages, padded to 40): front 36|5, back 6|35
pdftoppm -r 50 -png -singlefile -f 5 -l 5 "$out/print/print-run-self_study-imposed.pdf" docs/images/imposed-sheet-front
pdftoppm -r 50 -png -singlefile -f 6 -l 6 "$out/print/print-run-self_study-imposed.pdf" docs/images/imposed-sheet-back
large="$out/booklets/QS0011.pdf" chapter=$(page_of "$out/booklets/QS0011.pdf" 第一章 5)
pdftoppm -r 70 -png -singlefile -f "$chapter" -l "$chapter" "$large" docs/images/large-print-chapter
pdftoppm -r 70 -png -singlefile -f 2 -l 2 "$large" docs/images/large-print-letter
ls -l docs/images
