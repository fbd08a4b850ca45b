"""Judges pipeline-infer's review outputs with the real tools: Label Studio's converter parses
the tasks (JSON_MIN) (their predictions, as Label Studio would show them, taken as annotations), and
pycocotools loads the COCO images file and the results against it.

    check_review_outputs.py LABELING_CONFIG.xml TASKS.json COCO_IMAGES.json COCO_RESULTS.json WORK_DIR

Prints {"label_studio_images", "label_studio_choices", "coco_images", "coco_results", "categories"}.
"""
import json
import os
import sys

from label_studio_converter import Converter
from pycocotools.coco import COCO

config_path, tasks_path, images_path, results_path, work = sys.argv[1:6]
with open(config_path) as f:
    config = f.read()
with open(tasks_path) as f:
    tasks = json.load(f)
choices = 0
for task in tasks:
    predictions = task.get("predictions") or []
    task["annotations"] = [{"id": 1, "result": predictions[0]["result"]}] if predictions else []
    choices += sum(1 for r in task["annotations"][0]["result"] if r["type"] == "choices") if predictions else 0
as_export = os.path.join(work, "export.json")
with open(as_export, "w") as f:
    json.dump(tasks, f)
# The converter's JSON_MIN format reads class choices (its COCO format only reads boxes).
converter = Converter(config=config, project_dir=work, download_resources=False)
converter.convert_to_json_min(as_export, os.path.join(work, "min"), is_dir=False)
with open(os.path.join(work, "min", "result.json")) as f:
    converted = json.load(f)

ground = COCO(images_path)
results = ground.loadRes(results_path)
print(json.dumps({
    "label_studio_images": len(converted),
    "label_studio_labelled": sum(1 for row in converted if row.get("choice")),
    "label_studio_choices": choices,
    "coco_images": len(ground.getImgIds()),
    "coco_results": len(results.getAnnIds()),
    "categories": [c["name"] for c in ground.loadCats(ground.getCatIds())],
}))
