use omniscore::media::mesh;
use omniscore::quality::mesh::{intersect, topology};
use std::path::Path;
use std::io::Write;

#[test]
fn probe() {
    for f in ["tests/media/mesh/bunny.obj", "tests/media/mesh/STL/Wuson.stl", "tests/media/mesh/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb"] {
        let mut m = mesh::load(Path::new(f)).unwrap();
        m.weld();
        let t = topology::analyse(&m.positions, &m.triangles);
        let mut out = std::fs::File::create(format!("/tmp/pairs_{}.txt", Path::new(f).file_name().unwrap().to_str().unwrap())).unwrap();
        let eps = m.bbox_diagonal() * 1e-6;
        let si = intersect::find_pairs(&m.positions, &m.triangles, &t.kept, eps, usize::MAX, |a, b| { writeln!(out, "{a} {b}").unwrap(); });
        println!("{f} {si:?} eps={eps}");
        let mut pf = std::fs::File::create(format!("/tmp/mesh_{}.txt", Path::new(f).file_name().unwrap().to_str().unwrap())).unwrap();
        writeln!(pf, "{}", m.positions.len()).unwrap();
        for p in &m.positions { writeln!(pf, "{:e} {:e} {:e}", p[0], p[1], p[2]).unwrap(); }
        for tr in &m.triangles { writeln!(pf, "{} {} {}", tr[0], tr[1], tr[2]).unwrap(); }
    }
}
