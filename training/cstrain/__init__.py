"""clearsight training workspace (development tooling only; the product never imports Python).

Data is prepared by TypeScript (training/prepare/*.ts) into patch sets with a manifest;
these modules read them, train small PyTorch networks, and export ONNX + card + golden pair
into models/<name>/ where the library's registry finds them (src/core/models/trained.ts).
"""
