"""Leaf's wire names: step keys, statuses, event names. The only camelCase constants in leafnb."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "FILE_STEPS",
    "STATUS_DETAILS",
    "BatchStatus",
    "Event",
    "Origin",
    "Step",
    "StepStatus",
]


class Step(StrEnum):
    """Processing step keys (spec §3), in the order leafnb runs them."""

    ORIGINAL_FILE = "originalFile"
    RAW_GEOJSON = "rawGeojson"
    NORMALIZED_GEOJSON = "normalizedGeojson"
    AREA_AND_YIELD = "areaAndYield"
    CLEANUP_GEOJSON = "cleanupGeojson"
    STANDARD_GEOJSON = "standardGeojson"
    FILTERED_GEOJSON = "filteredGeojson"
    SUMMARY = "summary"
    UNITS = "units"


#: the per-file steps in execution order
FILE_STEPS: tuple[Step, ...] = tuple(Step)


class StepStatus(StrEnum):
    """Step statuses (spec §3)."""

    PROCESSED = "processed"
    FAILED = "failed"
    SKIPPED = "skipped"
    PROCESSING = "processing"


class BatchStatus(StrEnum):
    """Batch lifecycle (spec §4.2)."""

    RECEIVED = "RECEIVED"
    PROCESSING = "PROCESSING"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"


class Origin(StrEnum):
    """File origins (spec §1.7)."""

    PROVIDER = "provider"
    AUTOMERGED = "automerged"
    MERGED = "merged"
    UPLOADED = "uploaded"


class Event(StrEnum):
    """Alert event names (spec §9)."""

    BATCH_FINISHED = "batchUploadProcessingFinished"
    UPLOADED_FILE_FINISHED = "uploadedFileProcessingFinished"
    UPLOADED_FILE_FAILED = "uploadedFileProcessingFailed"
    MERGED_FILE_FINISHED = "mergedFileProcessingFinished"
    MERGED_FILE_FAILED = "mergedFileProcessingFailed"
    AUTOMERGED_FILE_FINISHED = "automergedFileProcessingFinished"
    AUTOMERGED_FILE_FAILED = "automergedFileProcessingFailed"
    OPERATION_CREATED = "operationCreated"
    OPERATION_UPDATED = "operationUpdated"
    OPERATION_FINISHED = "operationProcessingFinished"
    FIELD_CREATED = "fieldCreated"
    FIELD_UPDATED = "fieldUpdated"


STATUS_DETAILS = {
    "no_files": "No valid files found",
    "unreadable": "Files found but unable to read. Please check file format before re-trying or contact Support",
    "internal": "Leaf internal error. Please contact Support",
}

PROVIDERS = (
    "Other",
    "Leaf",
    "ClimateFieldView",
    "CNHI",
    "JohnDeere",
    "Trimble",
    "AgLeader",
    "Farmobile",
    "PrecisionPlanting",
    "RavenSlingshot",
)
