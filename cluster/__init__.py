"""Ray orchestration and the ``zeroplay`` command line: the only package that imports Ray."""
