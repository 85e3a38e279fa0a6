"""Grad-CAM of the CFR model (``stenosis gradcam``): maps of each backbone's last layer
(:mod:`.gradcam`), the CCTA map carried into SCPR space (:mod:`.resample`), per-instance maps
(:mod:`.explain`), PNG figures on the longitudinal SCPR view (:mod:`.figures`) and the files of
the command (:mod:`.write`)."""
