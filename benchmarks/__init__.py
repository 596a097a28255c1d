"""Benchmarks that prove accuracy and speed claims, each printing our model beside baselines in the same run."""
