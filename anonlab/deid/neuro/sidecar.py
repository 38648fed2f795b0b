"""BIDS JSON sidecars reduced to an allow-list of acquisition parameters.

dcm2niix writes every header field it understands into a sidecar: the patient's name, ID, birth date, weight, the
institution, the scanner's serial number and station name, study and series UIDs, free-text descriptions and the
acquisition date. A block-list misses the field nobody thought of (a vendor's new tag, a site's habit of typing
names into the protocol name), so a sidecar keeps only the fields listed here: acquisition parameters that describe
how the image was made and nothing about whom it shows or where. Any other field is dropped.

Dates (``AcquisitionDateTime``) and times of day are kept only under a keyed date shift (the subject's
:meth:`~anonlab.deid.pseudonym.Pseudonymizer.offset_days`, the offset DICOM de-identification uses under
``retain-longitudinal-modified-dates``); free-text descriptions (``SeriesDescription``, ``ProtocolName``) only on
request, cleaned of dates, long numbers, e-mail addresses and the patient's own names and IDs.
"""

from __future__ import annotations

import datetime as _dt
import re

__all__ = [
    "ACQUISITION_FIELDS",
    "DATE_FIELDS",
    "TIME_FIELDS",
    "DESCRIPTION_FIELDS",
    "IDENTIFYING_FIELDS",
    "scrub_sidecar",
    "shift_iso_datetime",
    "text_findings",
    "field_problem",
    "clean_text",
]

#: Acquisition parameters kept in a sidecar (BIDS MRI, PET and common vendor fields dcm2niix writes).
ACQUISITION_FIELDS = frozenset(
    """
    Modality MagneticFieldStrength ImagingFrequency Manufacturer ManufacturersModelName SoftwareVersions
    ReceiveCoilName ReceiveCoilActiveElements CoilString CoilCombinationMethod GradientSetType
    MRTransmitCoilSequence MatrixCoilMode BodyPart BodyPartExamined PatientPosition MRAcquisitionType
    SeriesNumber AcquisitionNumber ScanningSequence SequenceVariant ScanOptions SequenceName
    PulseSequenceType PulseSequenceDetails ImageType ImageTypeText RawImage NonlinearGradientCorrection
    ParallelReductionFactorInPlane ParallelReductionFactorOutOfPlane ParallelAcquisitionTechnique
    PartialFourier PartialFourierDirection PhaseEncodingDirection InPlanePhaseEncodingDirectionDICOM
    PhaseEncodingPolarityGE EffectiveEchoSpacing EstimatedEffectiveEchoSpacing TotalReadoutTime
    EstimatedTotalReadoutTime DerivedVendorReportedEchoSpacing BandwidthPerPixelPhaseEncode EchoTime
    EchoTime1 EchoTime2 EchoNumber InversionTime SliceTiming SliceEncodingDirection SliceThickness
    SpacingBetweenSlices DwellTime FlipAngle RepetitionTime RepetitionTimeExcitation
    RepetitionTimePreparation EchoTrainLength PhaseEncodingSteps FrequencyEncodingSteps AcquisitionMatrixPE
    ReconMatrixPE BaseResolution PercentPhaseFOV PercentSampling PhaseResolution PixelBandwidth
    WaterFatShift MTState SpoilingState SpoilingType SpoilingRFPhaseIncrement AcquisitionDuration
    NumberOfKSpaceTrajectories MultibandAccelerationFactor NumberShots ShimSetting TxRefAmp SAR
    ImageOrientationPatientDICOM ImageOrientationText DiffusionScheme MixingTime NumberOfAverages
    PostLabelingDelay ArterialSpinLabelingType LabelingDuration BackgroundSuppression M0Type
    Units DecayCorrectionFactor FrameDuration FrameTimesStart ReconMethodName TracerName
    ConversionSoftware ConversionSoftwareVersion
    """.split()
)

#: Dates and date-times: kept (shifted) only under a keyed date shift.
DATE_FIELDS = frozenset({"AcquisitionDateTime"})
#: Times of day: kept only under a keyed date shift (the DICOM profile removes them otherwise).
TIME_FIELDS = frozenset({"AcquisitionTime"})
#: Free text: kept only with ``keep_descriptions=True``, cleaned.
DESCRIPTION_FIELDS = frozenset({"SeriesDescription", "ProtocolName"})

#: Fields known to identify a person, a place or a device: the audit names them as such (any other field outside
#: the allow-list is reported as unlisted).
IDENTIFYING_FIELDS = frozenset(
    """
    PatientName PatientID PatientBirthDate PatientSex PatientAge PatientWeight PatientSize OtherPatientIDs
    AccessionNumber StudyID StudyInstanceUID SeriesInstanceUID SOPInstanceUID FrameOfReferenceUID
    InstitutionName InstitutionAddress InstitutionalDepartmentName StationName DeviceSerialNumber
    ReferringPhysicianName PerformingPhysicianName OperatorsName RequestingPhysician StudyDescription
    ProcedureStepDescription AcquisitionDate StudyDate SeriesDate ContentDate StudyTime SeriesTime
    ContentTime PatientComments ImageComments
    """.split()
)

_TEXT_PATTERNS = [
    (
        "date",
        re.compile(
            r"\b(?:19|20)\d{2}[-/.]?[01]\d[-/.]?[0-3]\d\b"  # 2012-08-20, 20120820
            r"|\b\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d{2}\b"  # 20.08.2012, 8/20/2012
            r"|\b\d{1,2}/\d{1,2}/\d{2}\b"  # 8/20/12 (not software versions such as 1.2.10)
        ),
    ),
    ("e-mail", re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")),
    ("digits", re.compile(r"\d{5,}")),
]


def text_findings(text: str) -> list[str]:
    """The kinds of identifying-looking text in ``text``: ``date``, ``e-mail``, ``digits`` (runs of 5 or more,
    such as record or telephone numbers). Never the text itself."""
    return [kind for kind, rx in _TEXT_PATTERNS if rx.search(text)]


def shift_iso_datetime(value: str, days: int) -> str | None:
    """Shift an ISO date or date-time (``2012-08-20T12:08:04.06``) by ``days``, keeping the time and its shape;
    None when it cannot be read (the field is then dropped)."""
    text = str(value)
    try:
        d = _dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
    try:
        return (d + _dt.timedelta(days=days)).isoformat() + text[10:]
    except OverflowError:
        return None


def clean_text(text: str, terms=()) -> str:
    """``text`` without dates, e-mail addresses, digit runs of 5 or more and ``terms`` (names, IDs; any case).
    Text with none of them comes back exactly as it was (a stimulus code ``S  1`` keeps its spaces)."""
    original = text
    for kind_rx in _TEXT_PATTERNS:
        text = kind_rx[1].sub("", text)
    for term in sorted({t for t in terms if t and len(t) >= 2}, key=len, reverse=True):
        text = re.sub(re.escape(term), "", text, flags=re.IGNORECASE)
    if text == original:
        return original
    return re.sub(r"\s{2,}", " ", text).strip(" _-^")


def _allowed_value(value) -> bool:
    """Numbers, booleans, short texts and flat lists of them; nested objects are not acquisition parameters."""
    if isinstance(value, bool | int | float):
        return True
    if isinstance(value, str):
        return len(value) <= 256
    if isinstance(value, list):
        return all(isinstance(v, bool | int | float | str) for v in value)
    return False


_VERSION_FIELDS = {"ConversionSoftwareVersion": re.compile(r"v?\d+(?:\.\d+){1,2}\.?\d{0,8}[a-z]?")}


def field_problem(name: str, value, *, dates_shifted: bool = False, descriptions: bool = False) -> str | None:
    """Why a sidecar field may not be released (None when it may): ``identifying field``, ``unlisted field``,
    ``description`` (free text typed by people, kept only on request),
    ``unshifted date``, ``text`` (a listed field whose text looks like a date, an e-mail address or a record
    number), ``value`` (a nested object or an overlong text where a parameter belongs). Never the value itself.

    dates_shifted : the dataset declares a keyed date shift, so date and time fields are expected.
    descriptions : the dataset keeps cleaned descriptions (they are still scanned for identifying text).
    """
    if name in _VERSION_FIELDS:
        ok = isinstance(value, str) and _VERSION_FIELDS[name].fullmatch(value)
        return None if ok else "text"
    if name in DATE_FIELDS or name in TIME_FIELDS:
        if not dates_shifted:
            return "unshifted date"
        return None if isinstance(value, str) and re.fullmatch(r"[\dT:.+-]+", value) else "value"
    if name in DESCRIPTION_FIELDS:
        if not descriptions:
            return "description"
        return "text" if not isinstance(value, str) or text_findings(value) else None
    if name not in ACQUISITION_FIELDS:
        return "identifying field" if name in IDENTIFYING_FIELDS else "unlisted field"
    if not _allowed_value(value):
        return "value"
    texts = (
        [value]
        if isinstance(value, str)
        else [v for v in value if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )
    return "text" if any(text_findings(t) for t in texts) else None


def scrub_sidecar(
    sidecar: dict,
    *,
    offset_days: int | None = None,
    keep_descriptions: bool = False,
    terms=(),
) -> tuple[dict, list[str]]:
    """The sidecar reduced to the allow-list, and the names of the fields dropped.

    offset_days : the subject's keyed date shift; dates are shifted by it and kept with the time of day. None:
        dates and times are dropped.
    keep_descriptions : keep ``SeriesDescription`` and ``ProtocolName``, cleaned of dates, long digit runs,
        e-mail addresses and ``terms`` (the patient's own names and identifiers, as read from the DICOM files).

    Every field kept passes :func:`field_problem`, the audit's own test.
    """
    shifted = offset_days is not None
    out: dict = {}
    dropped: list[str] = []
    for name, value in sidecar.items():
        if name in DATE_FIELDS and shifted and isinstance(value, str):
            value = shift_iso_datetime(value, offset_days)
        elif name in DESCRIPTION_FIELDS and keep_descriptions and isinstance(value, str):
            value = clean_text(value, terms) or None
        if (
            value is not None
            and field_problem(name, value, dates_shifted=shifted, descriptions=keep_descriptions) is None
        ):
            out[name] = value
        else:
            dropped.append(name)
    return out, dropped
