"""What identifying metadata an audio file holds: tag frames, comment fields and chunks, named but never read out.

Recorders and editors leave names, dates, places and device details beside the samples: RIFF ``LIST/INFO`` (artist,
creation date, software), Broadcast Wave ``bext`` (originator, origination date and time, coding history), ``iXML``
(project, scene, device), ``cart``, embedded ID3 in WAV, AIFF and MP3 (TIT2, TDRC, TXXX...), Vorbis comments and
pictures in FLAC and Ogg. anonlab writes every output fresh from the samples alone (:mod:`soundfile`), so none of it
survives; :func:`metadata_found` names what the input held (keys and chunk ids, never their values) for the report,
and the tests check an output holds nothing.

WAV is read chunk by chunk here (mutagen reads only ID3 from WAV); every other format through mutagen, the
``audio`` extra.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["metadata_found", "AUDIO_CHUNKS"]

#: the chunks a WAV file needs for its samples: everything else is metadata or padding
AUDIO_CHUNKS = frozenset({"fmt ", "data", "fact"})
_PADDING = frozenset({"JUNK", "PAD ", "FLLR", "junk", "pad "})


def _riff_chunks(path: Path) -> list[str]:
    """The chunk ids of a RIFF/RF64 WAVE file, with ``LIST/<type>`` and the sub-chunk ids of LIST chunks."""
    found: list[str] = []
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
            return found
        while True:
            hdr = fh.read(8)
            if len(hdr) < 8:
                break
            cid = hdr[:4].decode("latin-1")
            size = struct.unpack("<I", hdr[4:])[0]
            if cid == "LIST":
                body = fh.read(size)
                kind = body[:4].decode("latin-1")
                subs, pos = [], 4
                while pos + 8 <= len(body):
                    sid = body[pos : pos + 4].decode("latin-1")
                    ssize = struct.unpack("<I", body[pos + 4 : pos + 8])[0]
                    subs.append(sid)
                    pos += 8 + ssize + (ssize & 1)
                found.append(f"LIST/{kind}" + (f" ({', '.join(subs)})" if subs else ""))
                if size & 1:
                    fh.seek(1, 1)
                continue
            found.append(cid)
            if cid == "data" and size == 0xFFFFFFFF:
                break  # RF64: the real size is in ds64; the data runs to the end
            fh.seek(size + (size & 1), 1)
    return found


def metadata_found(path: str | Path) -> list[str]:
    """The metadata ``path`` holds, as names: WAV chunks other than the sample data (``LIST/INFO (IART, ICRD)``,
    ``bext``, ``iXML``, ``id3 ``), else mutagen's tag keys (``ID3: TIT2, TDRC``, ``Vorbis: ARTIST, DATE``) and
    embedded pictures. Empty when there is none, or when mutagen is not installed and the file is not WAV."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        chunks = [c for c in _riff_chunks(path) if c not in AUDIO_CHUNKS and c not in _PADDING]
        return [f"WAV chunk {c.strip()}" for c in chunks]
    try:
        import mutagen
    except ModuleNotFoundError:
        return []
    try:
        f = mutagen.File(path)
    except Exception:  # mutagen raises its own errors for unknown or damaged files: no tags to name
        return []
    if f is None:
        return []
    out = []
    tags = getattr(f, "tags", None)
    if tags is not None:
        keys = sorted({str(k).split(":")[0] for k in tags.keys()})
        kind = type(tags).__name__.replace("VComment", "Vorbis").replace("VCFLACDict", "Vorbis")
        if keys:
            out.append(f"{kind}: {', '.join(keys)}")
    pictures = getattr(f, "pictures", None)
    if pictures:
        out.append(f"{len(pictures)} embedded picture(s)")
    return out
