//! Pack files: finding an object through a version-2 `.idx` and reading it
//! from its `.pack`, deltas (by offset and by id) applied.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::bufread::ZlibDecoder;

use super::{Kind, Object, Unreadable};

/// The longest delta chain followed; git's own default depth is 50.
const MAX_CHAIN: usize = 4096;

/// The most a size read from a pack reserves at once (a corrupt size must not abort).
const RESERVE_CAP: u64 = 1 << 20;

/// One pack: its index in memory, its pack file read on demand.
pub(super) struct Pack {
    index: Vec<u8>,
    count: usize,
    pack: PathBuf,
}

/// A pack entry before its delta (if any) is applied.
enum Entry {
    Whole(Kind, Vec<u8>),
    OffsetDelta(u64, Vec<u8>),
    RefDelta([u8; 20], Vec<u8>),
}

impl Pack {
    /// The packs of `objects/pack` in `objects`.
    pub(super) fn all(objects: &Path) -> Result<Vec<Pack>, Unreadable> {
        let Ok(listing) = std::fs::read_dir(objects.join("pack")) else {
            return Ok(Vec::new());
        };
        let mut packs = Vec::new();
        for entry in listing.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "idx") {
                packs.push(Pack::open(&path)?);
            }
        }
        Ok(packs)
    }

    fn open(idx: &Path) -> Result<Pack, Unreadable> {
        let index = std::fs::read(idx).map_err(|e| Unreadable::io(idx, e))?;
        if index.len() < 8 + 256 * 4 || index[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
            return Err(Unreadable(format!(
                "{}: not a version 2 index",
                idx.display()
            )));
        }
        let count = be32(&index, 8 + 255 * 4) as usize;
        if index.len() < 8 + 256 * 4 + count * 28 {
            return Err(Unreadable(format!("{}: truncated", idx.display())));
        }
        let pack = idx.with_extension("pack");
        Ok(Pack { index, count, pack })
    }

    /// Where `id` starts in the pack, when this pack has it.
    pub(super) fn offset(&self, id: &[u8; 20]) -> Option<u64> {
        // Clamped: a corrupt fanout must not index past the ids.
        let fanout = |b: usize| (be32(&self.index, 8 + b * 4) as usize).min(self.count);
        let first = id[0] as usize;
        let (mut lo, mut hi) = (
            if first == 0 { 0 } else { fanout(first - 1) },
            fanout(first),
        );
        let ids = 8 + 256 * 4;
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = &self.index[ids + mid * 20..ids + mid * 20 + 20];
            match at.cmp(&id[..]) {
                std::cmp::Ordering::Equal => return self.offset_at(mid),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }

    fn offset_at(&self, n: usize) -> Option<u64> {
        let offsets = 8 + 256 * 4 + self.count * 24;
        let small = be32(&self.index, offsets + n * 4);
        if small & 0x8000_0000 == 0 {
            return Some(small as u64);
        }
        let at = offsets + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        let bytes = self.index.get(at..at + 8)?;
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }

    /// The object at `offset`, with deltas against this pack's objects applied;
    /// `resolve` reads a by-id delta base from anywhere in the repo.
    pub(super) fn read(
        &self,
        offset: u64,
        resolve: &mut dyn FnMut(&[u8; 20]) -> Result<Object, Unreadable>,
    ) -> Result<Object, Unreadable> {
        let mut file = File::open(&self.pack).map_err(|e| Unreadable::io(&self.pack, e))?;
        let mut deltas = Vec::new();
        let mut at = offset;
        let (kind, mut data) = loop {
            if deltas.len() > MAX_CHAIN {
                return Err(Unreadable(format!(
                    "{}: delta chain too long",
                    self.pack.display()
                )));
            }
            match self.entry(&mut file, at)? {
                Entry::Whole(kind, data) => break (kind, data),
                Entry::OffsetDelta(back, delta) => {
                    deltas.push(delta);
                    at = at.checked_sub(back).ok_or_else(|| self.corrupt())?;
                }
                Entry::RefDelta(base, delta) => {
                    deltas.push(delta);
                    break resolve(&base)?;
                }
            }
        };
        for delta in deltas.iter().rev() {
            data = apply_delta(&data, delta).ok_or_else(|| self.corrupt())?;
        }
        Ok((kind, data))
    }

    fn entry(&self, file: &mut File, offset: u64) -> Result<Entry, Unreadable> {
        let io = |e| Unreadable::io(&self.pack, e);
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let mut reader = BufReader::with_capacity(8192, &mut *file);
        let mut byte = read_byte(&mut reader).map_err(io)?;
        let kind = (byte >> 4) & 7;
        let mut size = (byte & 0x0f) as u64;
        let mut shift = 4;
        while byte & 0x80 != 0 && shift < 64 {
            byte = read_byte(&mut reader).map_err(io)?;
            size |= ((byte & 0x7f) as u64) << shift;
            shift += 7;
        }
        let entry = match kind {
            1..=4 => Entry::Whole(Kind::from_pack(kind), Vec::new()),
            6 => Entry::OffsetDelta(read_offset(&mut reader).map_err(io)?, Vec::new()),
            7 => {
                let mut base = [0; 20];
                reader.read_exact(&mut base).map_err(io)?;
                Entry::RefDelta(base, Vec::new())
            }
            _ => return Err(self.corrupt()),
        };
        // The size is the pack's word: reserve only what a sane entry needs up front.
        let mut data = Vec::with_capacity(size.min(RESERVE_CAP) as usize);
        ZlibDecoder::new(reader)
            .take(size)
            .read_to_end(&mut data)
            .map_err(io)?;
        if data.len() as u64 != size {
            return Err(self.corrupt());
        }
        Ok(match entry {
            Entry::Whole(kind, _) => Entry::Whole(kind, data),
            Entry::OffsetDelta(back, _) => Entry::OffsetDelta(back, data),
            Entry::RefDelta(base, _) => Entry::RefDelta(base, data),
        })
    }

    fn corrupt(&self) -> Unreadable {
        Unreadable(format!("{}: unexpected pack data", self.pack.display()))
    }
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_byte(reader: &mut impl Read) -> std::io::Result<u8> {
    let mut byte = [0];
    reader.read_exact(&mut byte)?;
    Ok(byte[0])
}

/// An OFS_DELTA's distance back to its base (git's "offset encoding").
fn read_offset(reader: &mut impl Read) -> std::io::Result<u64> {
    let mut byte = read_byte(reader)?;
    let mut value = (byte & 0x7f) as u64;
    while byte & 0x80 != 0 {
        byte = read_byte(reader)?;
        value = ((value + 1) << 7) | (byte & 0x7f) as u64;
    }
    Ok(value)
}

/// `base` with git's delta instructions applied; `None` when the delta does not fit it.
pub(super) fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut varint = || {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = *delta.get(at)?;
            at += 1;
            value |= ((byte & 0x7f) as usize) << shift;
            shift += 7;
            if byte & 0x80 == 0 || shift > 63 {
                return Some(value);
            }
        }
    };
    let (source, target) = (varint()?, varint()?);
    if source != base.len() {
        return None;
    }
    let mut out = Vec::with_capacity(target.min(RESERVE_CAP as usize));
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 == 0 {
            // Insert: the next `op` bytes as they are (0 is reserved).
            let n = op as usize;
            out.extend_from_slice(delta.get(at..at + n).filter(|_| n > 0)?);
            at += n;
            continue;
        }
        // Copy: offset and size from the bytes the op's low bits name.
        let (mut offset, mut size) = (0usize, 0usize);
        for bit in 0..7 {
            if op & (1 << bit) != 0 {
                let byte = *delta.get(at)? as usize;
                at += 1;
                match bit {
                    0..=3 => offset |= byte << (8 * bit),
                    _ => size |= byte << (8 * (bit - 4)),
                }
            }
        }
        let size = if size == 0 { 0x10000 } else { size };
        out.extend_from_slice(base.get(offset..offset.checked_add(size)?)?);
    }
    (out.len() == target).then_some(out)
}
