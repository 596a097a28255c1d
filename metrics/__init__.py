"""Quality measures of masks and images, shared by the trainer, the benchmarks and the tools."""
