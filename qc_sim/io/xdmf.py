"""Meshes and their fields as XDMF 3 + HDF5 (ParaView, meshio): one ``.xdmf`` XML file that
references datasets in a sibling ``.xdmf.h5`` file, a time series of nodal and element
fields on a fixed P1 mesh (triangles or tetrahedra).

    write_xdmf("body.xdmf", mesh, [(time, {"displacement": u}, {"stress": P}), ...])
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np


def _attribute(name, center, array, h5name, dataset):
    array = np.asarray(array)
    kind = {1: "Scalar", 2: "Vector", 3: "Vector", 4: "Tensor", 6: "Tensor6", 9: "Tensor"}
    comps = int(np.prod(array.shape[1:])) if array.ndim > 1 else 1
    atype = "Scalar" if comps == 1 else kind.get(comps, "Matrix")
    dims = " ".join(str(d) for d in (array.shape[0], comps)) if comps > 1 else str(array.shape[0])
    number = "Int" if np.issubdtype(array.dtype, np.integer) else "Float"
    precision = array.dtype.itemsize
    return (f'      <Attribute Name={quoteattr(name)} AttributeType="{atype}" Center="{center}">\n'
            f'        <DataItem Dimensions="{dims}" NumberType="{number}" '
            f'Precision="{precision}" Format="HDF">{h5name}:/{dataset}</DataItem>\n'
            f'      </Attribute>\n')


def write_xdmf(path, mesh, steps) -> tuple[Path, Path]:
    """Write ``mesh`` and ``steps`` = [(time, node_fields, element_fields)] to ``path``
    (.xdmf) and its .h5; fields are dicts of arrays (nn, ...) and (ne, ...)."""
    import h5py

    path = Path(path)
    h5path = path.with_name(path.name + ".h5")  # body.xdmf -> body.xdmf.h5: never a checkpoint's name
    topology = "Triangle" if mesh.dim == 2 else "Tetrahedron"
    ne, k = mesh.elements.shape
    nodes = mesh.nodes if mesh.dim == 3 else np.column_stack([mesh.nodes, np.zeros(mesh.n_nodes)])
    with h5py.File(h5path, "w") as f:
        f.create_dataset("mesh/nodes", data=np.asarray(nodes, float))
        f.create_dataset("mesh/elements", data=np.asarray(mesh.elements, np.int64))
        blocks = []
        for s, (time, node_fields, element_fields) in enumerate(steps):
            attrs = ""
            for center, fields in (("Node", node_fields), ("Cell", element_fields)):
                for name, array in (fields or {}).items():
                    array = np.asarray(array)
                    if array.ndim == 3:  # tensors per element: flatten to 9 components
                        array = array.reshape(array.shape[0], -1)
                    dataset = f"step{s}/{center.lower()}/{name}"
                    f.create_dataset(dataset, data=array)
                    attrs += _attribute(name, center, array, h5path.name, dataset)
            blocks.append(
                f'    <Grid Name="step{s}" GridType="Uniform">\n'
                f'      <Time Value="{float(time)!r}"/>\n'
                f'      <Topology TopologyType="{topology}" NumberOfElements="{ne}">\n'
                f'        <DataItem Dimensions="{ne} {k}" NumberType="Int" Precision="8" '
                f'Format="HDF">{h5path.name}:/mesh/elements</DataItem>\n'
                f'      </Topology>\n'
                f'      <Geometry GeometryType="XYZ">\n'
                f'        <DataItem Dimensions="{mesh.n_nodes} 3" NumberType="Float" '
                f'Precision="8" Format="HDF">{h5path.name}:/mesh/nodes</DataItem>\n'
                f'      </Geometry>\n{attrs}    </Grid>\n')
    path.write_text('<?xml version="1.0"?>\n<Xdmf Version="3.0">\n  <Domain>\n'
                    '    <Grid Name="qc-sim" GridType="Collection" CollectionType="Temporal">\n'
                    + "".join(blocks) + "    </Grid>\n  </Domain>\n</Xdmf>\n")
    return path, h5path
