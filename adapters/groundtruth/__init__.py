"""Amazon SageMaker Ground Truth as a labelwire workforce, plus Ground Truth file import and export.

Entry point: `groundtruth = "labelwire.adapters.groundtruth:GroundTruthWorkforce"`.
"""

from labelwire.adapters.groundtruth.exporter import write_augmented_manifest
from labelwire.adapters.groundtruth.importer import (
    GroundTruthJobImport,
    ImportedObject,
    import_groundtruth_job,
)
from labelwire.adapters.groundtruth.settings import GroundTruthSettings, parse_settings
from labelwire.adapters.groundtruth.workforce import GroundTruthWorkforce
from labelwire.server.files.augmented import ExportFormat, ExportLabel
from labelwire.server.files.s3io import ManifestError, read_manifest

__all__ = [
    "ExportFormat",
    "ExportLabel",
    "GroundTruthJobImport",
    "GroundTruthSettings",
    "GroundTruthWorkforce",
    "ImportedObject",
    "ManifestError",
    "import_groundtruth_job",
    "parse_settings",
    "read_manifest",
    "write_augmented_manifest",
]
