"""What a run shows: metrics records (JSONL, TensorBoard, the live display), status and reports."""
