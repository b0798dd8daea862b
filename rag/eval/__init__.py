"""Measuring retrieval and answers on public benchmarks (`rag eval DATASET_DIR`)."""
