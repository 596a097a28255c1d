"""The try-on folder layout (VITON as preprocessed by CP-VTON) and its fixed held-out split by pair id.

A pair NNNNNN has image/NNNNNN_0.jpg (the person), image-parse/NNNNNN_0.png (human parsing labels),
cloth/NNNNNN_1.jpg (the product photo) and cloth-mask/NNNNNN_1.png (its 0/255 mask).
"""
import zlib
from pathlib import Path

HELD_OUT_SHARE = 0.1


def hashed_fraction(name: str) -> float:
    """A stable number in [0, 1) from a name: the same example is held out on every machine and in every run,
    whatever other files the folder holds."""
    return (zlib.crc32(name.encode()) % 1_000_003) / 1_000_003


def is_held_out(name: str, share: float = HELD_OUT_SHARE) -> bool:
    return hashed_fraction(name) < share


def pair_id(person_path) -> str:
    """image/NNNNNN_0.jpg -> NNNNNN."""
    return Path(person_path).stem.rsplit("_", 1)[0]


def pair_paths(folder, pair: str) -> dict:
    folder = Path(folder)
    return {"person": folder / "image" / f"{pair}_0.jpg", "parse": folder / "image-parse" / f"{pair}_0.png",
            "product": folder / "cloth" / f"{pair}_1.jpg", "product_mask": folder / "cloth-mask" / f"{pair}_1.png"}
