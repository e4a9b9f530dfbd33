#!/usr/bin/env bash
# The fine-tuned forensic detector, end to end (development tooling: Debian's python3-torch):
#   1. screening: the three pretrained bases (centernet, faceres, antispoof) fine-tuned side by side
#      for the same wall-clock budget (niced, one thread each), no export;
#   2. the base with the highest validation AUC (self-blends of the validation people; nothing
#      else is looked at) continues from its best weights with a fresh schedule and is exported
#      to models/forensics-sbi-ft (ONNX, card with the screening table, golden pair);
#   3. Platt calibration on the validation people (bench/forensics-calibrate.ts).
# Then `npm run bench:forensics-ft` measures it on real media (once).
#   SCREEN_MIN=24 MAIN_MIN=50 bash training/forensics-ft.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SCREEN_MIN=${SCREEN_MIN:-24}
MAIN_MIN=${MAIN_MIN:-50}
CK=training/cache/checkpoints
mkdir -p "$CK"
if [ "${SKIP_SCREEN:-0}" != 1 ]; then
  for b in centernet faceres antispoof; do
    nice -n 10 /usr/bin/python3 training/forensics_sbi_ft.py --base "$b" --threads 1 --minutes "$SCREEN_MIN" --eval-seconds 360 --no-export --tag=-screen >"$CK/forensics-sbi-ft-$b-screen.log" 2>&1 &
  done
  wait
fi
best=$(/usr/bin/python3 - "$CK" <<'PY'
import json, sys, torch
ck = sys.argv[1]
rows = {}
for b in ("centernet", "faceres", "antispoof"):
    c = torch.load(f"{ck}/forensics-sbi-ft-{b}-screen.pt")
    rows[b] = {"valAuc": round(c["best"]["auc"], 4), "bestStep": c["best"]["step"], "steps": c["step"], "minutes": round(c["elapsed"] / 60, 1),
               "valAucByEvaluation": [[r["step"], round(1 - r["val_auc_gap"], 4)] for r in c["log"] if "val_auc_gap" in r]}
chosen = max(rows, key=lambda b: rows[b]["valAuc"])
json.dump({"rule": "highest validation AUC (self-blends of the validation people) after the same wall-clock budget", "chosen": chosen, "bases": rows},
          open(f"{ck}/forensics-sbi-ft-selection.json", "w"), indent=1)
print(chosen)
PY
)
echo "chosen base: $best"
nice -n 10 /usr/bin/python3 training/forensics_sbi_ft.py --base "$best" --threads 1 --minutes "$MAIN_MIN" --lr 5e-5 --eval-seconds 360 \
  --init "$CK/forensics-sbi-ft-$best-screen.pt" --selection "$CK/forensics-sbi-ft-selection.json" --out models/forensics-sbi-ft
node --import tsx bench/forensics-calibrate.ts --model forensics-sbi-ft --scores "$CK/forensics-sbi-ft-$best-val.json"
