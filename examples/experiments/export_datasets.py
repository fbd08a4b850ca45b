#!/usr/bin/env python3
"""The small real datasets scikit-learn ships in its wheel, as CSV files for `experiment run`:
iris, wine (its label column named Target), breast cancer (binary) and digits (8x8 images as 64
pixel columns). Nothing is downloaded.

    export_datasets.py [OUT_DIR]            (default: data/ beside this script)
    export_datasets.py --images STORE_DIR   digits as PNG images for the ingest stage:
        STORE_DIR/raw/digits/digit-<n>.png and STORE_DIR/annotations/digits/digits_coco.json (a COCO
        file whose one box a picture names its digit); STORE_DIR is a file store's root
        (the demo's: .demo/objects), or upload both to S3 as they are.
"""
import csv
import os
import sys

from sklearn import datasets

if len(sys.argv) == 3 and sys.argv[1] == "--images":
    import json
    from PIL import Image
    store = sys.argv[2]
    os.makedirs(os.path.join(store, "raw", "digits"), exist_ok=True)
    os.makedirs(os.path.join(store, "annotations", "digits"), exist_ok=True)
    digits = datasets.load_digits()
    coco = {"images": [], "annotations": [],
            "categories": [{"id": i + 1, "name": str(n)} for i, n in enumerate(digits.target_names)]}
    for index, (image, target) in enumerate(zip(digits.images, digits.target)):
        name = f"digit-{index:04d}.png"
        # 0..16 grey levels to 0..255, 8x8 scaled to 32x32 (nearest) so the pictures are legible.
        Image.fromarray((image * 255 / 16).astype("uint8"), mode="L").resize((32, 32), Image.NEAREST).save(
            os.path.join(store, "raw", "digits", name))
        coco["images"].append({"id": index + 1, "file_name": name, "width": 32, "height": 32})
        coco["annotations"].append({"id": index + 1, "image_id": index + 1, "category_id": int(target) + 1,
                                    "bbox": [0, 0, 32, 32], "area": 1024, "iscrowd": 0})
    with open(os.path.join(store, "annotations", "digits", "digits_coco.json"), "w") as f:
        json.dump(coco, f)
    print(f"{store}/raw/digits: {len(digits.target)} PNG images; {store}/annotations/digits/digits_coco.json")
    sys.exit(0)

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
os.makedirs(out, exist_ok=True)
for name, loader, label in [("iris", datasets.load_iris, "label"), ("wine", datasets.load_wine, "Target"),
                            ("breast_cancer", datasets.load_breast_cancer, "label"),
                            ("digits", datasets.load_digits, "label")]:
    bunch = loader()
    features = [str(f).replace(" ", "_") for f in getattr(bunch, "feature_names", [])] or \
        [f"f{i}" for i in range(bunch.data.shape[1])]
    with open(os.path.join(out, f"{name}.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id"] + features + [label])
        for index, (row, target) in enumerate(zip(bunch.data, bunch.target)):
            writer.writerow([f"{name}-{index}"] + [f"{v:g}" for v in row] + [bunch.target_names[target]])
    print(f"{out}/{name}.csv: {len(bunch.target)} rows, {len(features)} features")
