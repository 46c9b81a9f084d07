"""Export of trained flux models to ONNX with metadata, verification and model cards."""
