"""Export of trained models to ONNX (filled in by the coupling issue)."""
