"""Networks: 3D residual U-Net backbones, curved feature reconstruction, grade transformer."""
