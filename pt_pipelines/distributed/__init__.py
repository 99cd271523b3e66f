"""The Ray backend: starting Ray, the sweep's trials and the distributed annotate (pip install -r requirements-ray.txt)."""
