"""The CFR grading model: two 3D ResUNet backbones (SCPR, CCTA patch), curved feature
reconstruction along the instance core, and the grade transformer.

A batch is a dict of tensors (what the dataset's collate returns):
``scpr`` ``[B, 1, D, H, W]``, ``ccta`` ``[B, 1, Dc, Hc, Wc]``, ``ccta_points`` ``[B, D, 3]``
(continuous ``[z, y, x]`` indices into ``ccta``), ``mask`` ``[B, D]`` (False on padding),
``core_start``, ``core_end`` ``[B]`` (inclusive core range along D).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from torch import Tensor, nn

from stages.model.backbone import ResUNet3d
from stages.model.fusion import CurvedFeatureReconstruction, core_positions
from stages.model.transformer import GradeTransformer

MODALITIES = ("both", "scpr", "ccta")


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of :class:`CFRModel` (paper defaults: C = 64, L = 8, 4 heads)."""

    channels: int = 64
    widths: tuple[int, ...] = field(default=(32, 64, 128))
    depth: int = 8
    heads: int = 4
    mlp_hidden: int = 128
    dropout: float = 0.1
    max_tokens: int = 256
    modality: str = "both"

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {', '.join(MODALITIES)}, got '{self.modality}'")
        if self.channels < 1 or self.mlp_hidden < 1:
            raise ValueError(f"channels and mlp_hidden must be >= 1, got {self.channels}, {self.mlp_hidden}")
        if self.heads < 1 or self.channels % self.heads:
            raise ValueError(f"heads must divide dim (model.channels): channels={self.channels}, heads={self.heads}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelConfig:
        """From a config mapping; unknown keys are an error naming them."""
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"model: unknown key(s) {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready mapping."""
        return {**asdict(self), "widths": list(self.widths)}


class CFRModel(nn.Module):
    """Batch (see module doc) -> outputs ``[B, n_outputs]`` for a loss head."""

    def __init__(self, config: ModelConfig, n_outputs: int) -> None:
        super().__init__()
        self.config = config
        use_scpr, use_ccta = config.modality in ("both", "scpr"), config.modality in ("both", "ccta")
        self.scpr_backbone = ResUNet3d(1, config.channels, config.widths) if use_scpr else None
        self.ccta_backbone = ResUNet3d(1, config.channels, config.widths) if use_ccta else None
        self.fusion = CurvedFeatureReconstruction(config.channels, config.mlp_hidden, use_scpr, use_ccta)
        self.transformer = GradeTransformer(
            config.channels, config.depth, config.heads, n_outputs, config.max_tokens, config.dropout
        )

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        f_scpr = self.scpr_backbone(batch["scpr"], batch["mask"]) if self.scpr_backbone is not None else None
        f_ccta = self.ccta_backbone(batch["ccta"]) if self.ccta_backbone is not None else None
        positions, valid = core_positions(batch["core_start"], batch["core_end"], batch["mask"].shape[1])
        valid = valid & batch["mask"].gather(1, positions)
        tokens = self.fusion(f_scpr, f_ccta, batch["ccta_points"], positions)
        return self.transformer(tokens, valid)
