"""Loading the OpenMMLab stack: onedl package names for config references, mmcv's compiled ops, MMSegmentation's
registries. Each loads on first use, and quietly: their imports print to stdout, which belongs to bench's output."""

from __future__ import annotations

import contextlib
import io


def resolve_onedl_packages() -> None:
    """Let ``mmseg::``/``mmdet::`` config references find the maintained onedl-* distributions."""
    from importlib.metadata import PackageNotFoundError, version

    from mmengine.config import utils

    for module, dist in (("mmseg", "onedl-mmsegmentation"), ("mmdet", "onedl-mmdetection")):
        try:
            version(utils.MODULE2PACKAGE[module])
        except PackageNotFoundError:
            utils.MODULE2PACKAGE[module] = dist


def ops_available() -> bool:
    """Whether mmcv's compiled ops (multi-scale deformable attention for Mask2Former) can be loaded."""
    try:
        import mmcv._ext  # noqa: F401
    except ImportError:
        return False
    return True


def import_mmseg():
    """Import and register MMSegmentation quietly: its import prints to stdout, which belongs to bench's output."""
    from mmengine.logging import MMLogger

    if not MMLogger.check_instance_created("bench"):
        MMLogger.get_instance("bench", log_level="WARNING")  # mmengine logs through the newest instance
    with contextlib.redirect_stdout(io.StringIO()):
        import mmseg.models  # noqa: F401  (registers the model classes)
        from mmseg.utils import register_all_modules

        register_all_modules(init_default_scope=True)
