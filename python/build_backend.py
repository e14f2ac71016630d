"""A minimal PEP 517 backend for the gru_gen package: a pure-Python wheel made with zipfile.

Standard library only (build-system.requires is empty), so pip builds it offline without
setuptools or wheel. Name, version and dependencies come from pyproject.toml's [project]."""
import base64
import hashlib
import os
import re
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))
_PACKAGE = "gru_gen"


def _project():
    text = open(os.path.join(_HERE, "pyproject.toml"), encoding="utf-8").read()
    section = text[text.index("[project]"):]
    field = lambda key: re.search(r'^%s = "([^"]*)"' % key, section, re.M).group(1)
    deps = re.findall(r'"([^"]+)"', re.search(r"^dependencies = \[(.*)\]", section, re.M).group(1))
    return field("name"), field("version"), field("description"), field("requires-python"), deps


def _dist_info():
    name, version, description, requires_python, deps = _project()
    dist = "%s-%s" % (name.replace("-", "_"), version)
    metadata = "Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s\nRequires-Python: %s\n" % (
        name, version, description, requires_python)
    metadata += "".join("Requires-Dist: %s\n" % d for d in deps)
    wheel = "Wheel-Version: 1.0\nGenerator: gru-gen build_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return dist, {"METADATA": metadata, "WHEEL": wheel}


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist, files = _dist_info()
    directory = os.path.join(metadata_directory, dist + ".dist-info")
    os.makedirs(directory, exist_ok=True)
    for name, text in files.items():
        with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
            f.write(text)
    return dist + ".dist-info"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist, files = _dist_info()
    members = {}
    for name in sorted(os.listdir(os.path.join(_HERE, _PACKAGE))):
        if name.endswith(".py"):
            with open(os.path.join(_HERE, _PACKAGE, name), "rb") as f:
                members["%s/%s" % (_PACKAGE, name)] = f.read()
    for name, text in files.items():
        members["%s.dist-info/%s" % (dist, name)] = text.encode()
    record = ""
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
    members["%s.dist-info/RECORD" % dist] = (record + "%s.dist-info/RECORD,,\n" % dist).encode()
    wheel_name = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in members.items():
            z.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return wheel_name
