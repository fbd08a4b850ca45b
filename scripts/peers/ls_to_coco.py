"""Converts a Label Studio JSON export to COCO with Label Studio's own converter, as the
judge for the Swift converter.

    python ls_to_coco.py LABELING_CONFIG.xml EXPORT.json OUTPUT_DIR    (prints the COCO JSON)
"""
import json
import os
import sys

from label_studio_converter import Converter

config_path, export_path, output_dir = sys.argv[1:4]
with open(config_path) as f:
    config = f.read()
converter = Converter(config=config, project_dir=os.path.dirname(export_path), download_resources=False)
converter.convert_to_coco(export_path, output_dir, is_dir=False)
with open(os.path.join(output_dir, "result.json")) as f:
    print(json.dumps(json.load(f)))
