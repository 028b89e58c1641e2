"""Ray itself: the embedded or joined instance, every actor of a training run, the driver, the run directory."""
