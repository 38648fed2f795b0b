"""Preparing data for release: keyed pseudonymisation, risk assessment, generalisation, DICOM and photo metadata."""
