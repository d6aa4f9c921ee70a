//! SageMaker stand-in (being written).
