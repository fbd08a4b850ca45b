"""Static checks of infra/tofu that need no OpenTofu and no provider (neither installs here).

Parses every .tf with python-hcl2 and holds each module (a folder of .tf files) to what
`tofu validate` would catch in our own code, without the providers' schemas:
  - every var.X used is declared, every local.X defined, every module.M.O names an output of M,
    every resource or data source referenced is declared;
  - module calls pass only variables the module declares and every variable without a default;
  - every variable has a description and a type; every output a description; outputs that carry
    a password are sensitive;
  - every provider a resource needs is in required_providers; roots pin required_version;
  - each variant (a root) has versions.tf, variables.tf, main.tf, outputs.tf and a
    terraform.tfvars.example whose keys are declared variables and that sets every required one;
    its variables.tf holds validation blocks;
  - file()/templatefile() paths exist; the NVMe bootstrap is read from infra/bootstrap, never copied;
  - tofu fmt's layout: no tabs, no trailing spaces, two-space indents, '=' aligned in runs of
    consecutive attribute lines.
Prints one line per check; exits 1 when any fails.

Usage: check_tofu.py [infra/tofu]
"""
import re
import sys
from pathlib import Path

import hcl2

ROOT_FILES = ("versions.tf", "variables.tf", "main.tf", "outputs.tf", "terraform.tfvars.example")
META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
BUILTIN_RESOURCES = {"terraform_data"}
IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"


def strings(value):
    """Every string in a parsed HCL value: expressions come back as "${...}" strings."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def first(value):
    """python-hcl2 wraps attribute values in a one-element list."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


class Module:
    def __init__(self, path):
        self.path = path
        self.files = sorted(path.glob("*.tf"))
        self.parsed = {}
        self.variables, self.outputs, self.locals = {}, {}, set()
        self.modules, self.resources, self.data = {}, set(), set()
        self.required_providers, self.required_version = set(), None
        for file in self.files:
            with open(file) as handle:
                tree = hcl2.load(handle)
            self.parsed[file] = tree
            for block in tree.get("variable", []):
                self.variables.update(block)
            for block in tree.get("output", []):
                self.outputs.update(block)
            for block in tree.get("locals", []):
                self.locals.update(key for key in block if not key.startswith("__"))
            for block in tree.get("module", []):
                self.modules.update(block)
            for block in tree.get("resource", []):
                for kind, named in block.items():
                    self.resources.update(f"{kind}.{name}" for name in named)
            for block in tree.get("data", []):
                for kind, named in block.items():
                    self.data.update(f"{kind}.{name}" for name in named)
            for block in tree.get("terraform", []):
                if "required_version" in block:
                    self.required_version = first(block["required_version"])
                for providers in block.get("required_providers", []):
                    self.required_providers.update(key for key in providers if not key.startswith("__"))

    def references(self):
        for file, tree in self.parsed.items():
            for text in strings(tree):
                if "${" not in text and "%{" not in text:
                    continue
                yield file, text


def source_dir(module, call):
    source = first(call.get("source"))
    return (module.path / source).resolve() if isinstance(source, str) and source.startswith(".") else None


def check_module(module, modules, problems):
    relative = module.path
    for file, text in module.references():
        where = f"{file}"
        for name in re.findall(rf"(?<![\w.])var\.({IDENT})", text):
            if name not in module.variables:
                problems.append(f"{where}: var.{name} is not declared in {relative}")
        for name in re.findall(rf"(?<![\w.])local\.({IDENT})", text):
            if name not in module.locals:
                problems.append(f"{where}: local.{name} is not defined in {relative}")
        for name, output in re.findall(rf"(?<![\w.])module\.({IDENT})(?:\[[^\]]*\])?\.({IDENT})", text):
            call = module.modules.get(name)
            if call is None:
                problems.append(f"{where}: module.{name} is not called in {relative}")
                continue
            target = modules.get(source_dir(module, call))
            if target is not None and output not in target.outputs:
                problems.append(f"{where}: module.{name}.{output}: {target.path} has no output {output}")
        for kind, name in re.findall(r"(?<![\w.])data\.([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)", text):
            if f"{kind}.{name}" not in module.data:
                problems.append(f"{where}: data.{kind}.{name} is not declared in {relative}")
        for kind, name in re.findall(r"(?<![\w.])((?:aws|kubernetes|random|tls|cloudinit|null|helm|local|libvirt)_[a-z0-9_]+|terraform_data)\.([A-Za-z_][A-Za-z0-9_-]*)", text):
            if f"{kind}.{name}" not in module.resources:
                problems.append(f"{where}: {kind}.{name} is not declared in {relative}")

    for name, variable in module.variables.items():
        if "description" not in variable:
            problems.append(f"{relative}: variable {name} has no description")
        if "type" not in variable:
            problems.append(f"{relative}: variable {name} has no type")
    for name, output in module.outputs.items():
        if "description" not in output:
            problems.append(f"{relative}: output {name} has no description")
        value = " ".join(strings(output.get("value")))
        carries_password = "password" in name or "random_password" in value or re.search(r"\.password\b", value)
        if carries_password and first(output.get("sensitive")) is not True:
            problems.append(f"{relative}: output {name} carries a password but is not sensitive")

    for name, call in module.modules.items():
        target = modules.get(source_dir(module, call))
        if target is None:
            problems.append(f"{relative}: module {name}: source {first(call.get('source'))} is not a module under infra/tofu")
            continue
        arguments = {key for key in call if not key.startswith("__")} - META_ARGUMENTS
        for argument in sorted(arguments - set(target.variables)):
            problems.append(f"{relative}: module {name} passes {argument}, which {target.path} does not declare")
        for variable, spec in target.variables.items():
            if "default" not in spec and variable not in arguments:
                problems.append(f"{relative}: module {name} does not pass {variable}, which has no default")

    needed = set()
    for tree in module.parsed.values():
        for block in tree.get("resource", []) + tree.get("data", []):
            for kind in block:
                if kind not in BUILTIN_RESOURCES:
                    needed.add(kind.split("_", 1)[0])
        for block in tree.get("provider", []):
            needed.update(block)
    for provider in sorted(needed - module.required_providers):
        problems.append(f"{relative}: uses provider {provider} without declaring it in required_providers")

    for file, text in module.references():
        for function, path in re.findall(r"\b(file|templatefile)\(\"([^\"]+)\"", text):
            resolved = Path(path.replace("${path.module}", str(module.path))).resolve()
            if not resolved.is_file():
                problems.append(f"{file}: {function}() reads {path}, which does not exist")


def check_root(module, problems):
    for name in ROOT_FILES:
        if not (module.path / name).is_file():
            problems.append(f"{module.path}: root module without {name}")
    if not module.required_version:
        problems.append(f"{module.path}: no required_version")
    variables_file = module.path / "variables.tf"
    if variables_file.is_file():
        validated = sum(1 for spec in module.parsed[variables_file].get("variable", []) for v in spec.values() if "validation" in v)
        if validated == 0:
            problems.append(f"{variables_file}: no validation blocks")
    example = module.path / "terraform.tfvars.example"
    if example.is_file():
        with open(example) as handle:
            values = hcl2.load(handle)
        keys = {key for key in values if not key.startswith("__")}
        for key in sorted(keys - set(module.variables)):
            problems.append(f"{example}: {key} is not a variable of {module.path}")
        for name, spec in module.variables.items():
            if "default" not in spec and name not in keys:
                problems.append(f"{example}: required variable {name} is not set")


def check_layout(file, problems):
    """tofu fmt's layout, as far as it can be told without tofu: indents, spaces, '=' runs."""
    heredoc = None
    run = []  # (line number, indent, key, column of '=')

    def close_run():
        if len(run) > 1:
            width = max(len(key) for _, _, key, _ in run)
            for number, indent, key, column in run:
                if column != indent + width + 1:
                    problems.append(f"{file}:{number}: '=' not aligned as tofu fmt aligns it (key {key})")
        run.clear()

    for number, line in enumerate(file.read_text().splitlines(), 1):
        if heredoc:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if "\t" in line:
            problems.append(f"{file}:{number}: tab")
        if line != line.rstrip():
            problems.append(f"{file}:{number}: trailing whitespace")
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() and indent % 2:
            problems.append(f"{file}:{number}: indent of {indent} spaces, not a multiple of 2")
        match = re.match(r"^( *)([A-Za-z_][A-Za-z0-9_-]*|\"[^\"]+\") +=(?!=)", line)
        if match and (not run or run[-1][1] == indent):
            run.append((number, indent, match.group(2), match.end() - 1))
        elif match:
            close_run()
            run.append((number, indent, match.group(2), match.end() - 1))
        else:
            close_run()
        opened = re.search(r"<<-?([A-Z_]+)\s*$", line)
        if opened:
            heredoc = opened.group(1)
            close_run()
    close_run()


def main():
    base = Path(sys.argv[1] if len(sys.argv) > 1 else "infra/tofu").resolve()
    folders = sorted({file.parent for file in base.rglob("*.tf")})
    modules, failed = {}, 0
    for folder in folders:
        try:
            modules[folder] = Module(folder)
        except Exception as error:  # python-hcl2 raises lark errors of several kinds
            print(f"tofu: parse {folder.relative_to(base)}: FAIL {error}")
            failed += 1
    print(f"tofu: parse: {'ok' if not failed else 'FAIL'} ({sum(len(m.files) for m in modules.values())} .tf files in {len(modules)} modules)")

    roots = [folder for folder in modules if folder.parent == base]
    for folder, module in modules.items():
        problems = []
        check_module(module, modules, problems)
        if folder in roots:
            check_root(module, problems)
        for file in module.files:
            check_layout(file, problems)
        name = folder.relative_to(base)
        kind = "variant" if folder in roots else "module"
        summary = f"{len(module.variables)} variables, {len(module.outputs)} outputs, {len(module.modules)} module calls"
        print(f"tofu: {kind} {name}: {'ok' if not problems else 'FAIL'} ({summary})")
        for problem in problems:
            print(f"  {problem}")
        failed += bool(problems)

    bootstrap = base.parent / "bootstrap" / "nvme-bootstrap.sh"
    copies = [path for path in base.rglob("*") if path.is_file() and path.name == bootstrap.name]
    readers = [f for m in modules.values() for f, text in m.references() if "bootstrap/nvme-bootstrap.sh" in text]
    one_script = bootstrap.is_file() and not copies and readers
    print(f"tofu: one NVMe bootstrap: {'ok' if one_script else 'FAIL'} (read by {len(readers)} file(s), {len(copies)} copies under infra/tofu)")
    failed += not one_script

    expected = {"aws", "eks", "openshift", "rke2"}
    present = {folder.name for folder in roots}
    print(f"tofu: variants: {'ok' if expected <= present else 'FAIL'} ({', '.join(sorted(present))})")
    failed += not expected <= present
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
