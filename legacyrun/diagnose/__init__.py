"""Failure diagnosis: match a log against known failure signatures and say cause and fix (`legacyrun explain`).

Layer 2 (above errors/proc/fsutil only). Three parts, apart:
- `signatures`: the signatures as data (`data/signatures.yaml`, the scan's gates in `data/gates.yaml`), loaded and
  validated into a `SignatureSet` with its gate index and grep needles;
- `scanner`: the streaming scan of a log (the `grep -F` needle prefilter for big files) into `Match` results;
- `docs`: docs/explain.md rendered from the signatures (imported only to regenerate or check it).

The names below are the API that the rest of legacyrun uses.
"""

from legacyrun.diagnose.scanner import Match, explain_chunks, explain_file, explain_text, iter_blocks
from legacyrun.diagnose.signatures import SIGNATURES_FILE, Signature, SignatureFileError, SignatureSet, load_signatures

__all__ = [
    "SIGNATURES_FILE",
    "Match",
    "Signature",
    "SignatureFileError",
    "SignatureSet",
    "explain_chunks",
    "explain_file",
    "explain_text",
    "iter_blocks",
    "load_signatures",
]
