//! Damage detector: synthetic photos, ONNX inference, evaluation.
