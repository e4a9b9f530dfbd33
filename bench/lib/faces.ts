/**
 * The face photos under ../shared/data/faces with an identity per photo, shared by the forensics
 * training script and benchmark (the same identities must mean the same split in both).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export interface Photo {
  file: string;
  identity: string;
}

export async function listFacePhotos(root: string): Promise<Photo[]> {
  const photos: Photo[] = [];
  const idOf = new Map<string, string>();
  const idFile = path.join(root, 'deepface/identities.txt');
  if (existsSync(idFile)) {
    for (const line of (await readFile(idFile, 'utf8')).split('\n')) {
      const [id, files] = line.split(':');
      if (files) for (const f of files.trim().split(/\s+/)) idOf.set(f, id.trim());
    }
  }
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.(jpe?g|png)$/i.test(e.name)) {
        const rel = path.relative(root, p);
        // Identity: deepface's list; knn folders name the person; obama-*.jpg are one person; else the file.
        const parts = rel.split(path.sep);
        const id =
          idOf.get(e.name) && parts[0] === 'deepface'
            ? `deepface:${idOf.get(e.name)}`
            : parts.includes('knn_examples') && parts.length >= 4
              ? `knn:${parts[parts.length - 2]}`
              : /^obama/.test(e.name)
                ? 'obama'
                : `file:${rel}`;
        photos.push({ file: p, identity: id });
      }
    }
  };
  await walk(root);
  return photos.sort((a, b) => (a.file < b.file ? -1 : 1));
}
