"""Files: atomic writes, CF netCDF output, restarts."""
