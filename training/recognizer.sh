#!/usr/bin/env bash
# Prepare the recogniser's patch set (TypeScript) and train it (Debian's Python, torch CPU, 1 thread).
#   npm run train:recognizer [-- --smoke] [-- --seed N]
# Extra arguments go to both steps (--smoke, --seed); the trainer also takes --steps, --resume.
set -euo pipefail
cd "$(dirname "$0")/.."
prep_args=()
for a in "$@"; do
  case "$a" in
    --smoke) prep_args+=("--smoke") ;;
  esac
done
seed=1
args=("$@")
for i in "${!args[@]}"; do
  if [[ "${args[$i]}" == "--seed" ]]; then seed="${args[$((i + 1))]}"; fi
done
node --import tsx training/prepare/recognizer.ts --part main "${prep_args[@]}" --seed "$seed"
if [[ " ${prep_args[*]} " != *" --smoke "* ]]; then
  node --import tsx training/prepare/recognizer.ts --part portraits --seed "$seed"
fi
/usr/bin/python3 training/recognizer.py --threads 1 "$@"
