//! Object tables with generational ids.
//!
//! An id packs a kind tag, a generation and a slot index, so an id of a
//! destroyed object (stale generation) or of another kind never resolves.
use parking_lot::Mutex;
use std::sync::Arc;

/// Object kinds, encoded in the top 4 bits of an id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Kind {
    Config = 1,
    Context = 2,
    Surface = 3,
    Buffer = 4,
    Image = 5,
}

const INDEX_BITS: u32 = 16;
const GEN_BITS: u32 = 12;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const GEN_MASK: u32 = (1 << GEN_BITS) - 1;
/// Upper bound on live objects of one kind.
pub const MAX_OBJECTS: usize = 1 << INDEX_BITS;

struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

struct Inner<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

pub struct Table<T> {
    kind: Kind,
    inner: Mutex<Inner<T>>,
}

impl<T> Table<T> {
    pub fn new(kind: Kind) -> Self {
        Table { kind, inner: Mutex::new(Inner { slots: Vec::new(), free: Vec::new(), live: 0 }) }
    }

    fn make_id(&self, index: u32, generation: u32) -> u32 {
        ((self.kind as u32) << (INDEX_BITS + GEN_BITS)) | ((generation & GEN_MASK) << INDEX_BITS) | index
    }

    fn split(&self, id: u32) -> Option<(usize, u32)> {
        if id >> (INDEX_BITS + GEN_BITS) != self.kind as u32 {
            return None;
        }
        Some(((id & INDEX_MASK) as usize, (id >> INDEX_BITS) & GEN_MASK))
    }

    /// Inserts an object; None when the table is full.
    pub fn insert(&self, value: T) -> Option<(u32, Arc<T>)> {
        self.insert_with(|_| value)
    }

    /// Inserts an object that needs to know its own id.
    pub fn insert_with(&self, make: impl FnOnce(u32) -> T) -> Option<(u32, Arc<T>)> {
        self.insert_slot(|id| Arc::new(make(id)))
    }

    /// Inserts an object already in an `Arc` (a recycled one); None when
    /// the table is full.
    pub fn insert_arc(&self, obj: Arc<T>) -> Option<(u32, Arc<T>)> {
        self.insert_slot(|_| obj)
    }

    /// Takes a free slot (or a new one), bumps its generation and stores
    /// the object `make` returns for the new id.
    fn insert_slot(&self, make: impl FnOnce(u32) -> Arc<T>) -> Option<(u32, Arc<T>)> {
        let mut g = self.inner.lock();
        let index = match g.free.pop() {
            Some(i) => i,
            None => {
                if g.slots.len() >= MAX_OBJECTS {
                    return None;
                }
                g.slots.push(Slot { generation: 0, value: None });
                (g.slots.len() - 1) as u32
            }
        };
        let slot = &mut g.slots[index as usize];
        slot.generation = (slot.generation + 1) & GEN_MASK;
        let id = self.make_id(index, slot.generation);
        let obj = make(id);
        g.slots[index as usize].value = Some(obj.clone());
        g.live += 1;
        Some((id, obj))
    }

    pub fn get(&self, id: u32) -> Option<Arc<T>> {
        let (index, generation) = self.split(id)?;
        let g = self.inner.lock();
        let slot = g.slots.get(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.value.clone()
    }

    pub fn remove(&self, id: u32) -> Option<Arc<T>> {
        let (index, generation) = self.split(id)?;
        let mut g = self.inner.lock();
        let slot = g.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let v = slot.value.take()?;
        g.free.push(index as u32);
        g.live -= 1;
        Some(v)
    }

    /// Removes every object (vaTerminate).
    pub fn drain(&self) -> Vec<Arc<T>> {
        let mut g = self.inner.lock();
        let mut out = Vec::new();
        let mut freed = Vec::new();
        for (i, s) in g.slots.iter_mut().enumerate() {
            if let Some(v) = s.value.take() {
                out.push(v);
                freed.push(i as u32);
            }
        }
        g.free.extend(freed);
        g.live = 0;
        out
    }

    /// Snapshot of the live objects with their ids.
    pub fn values(&self) -> Vec<(u32, Arc<T>)> {
        let g = self.inner.lock();
        g.slots.iter().enumerate().filter_map(|(i, s)| s.value.as_ref().map(|v| (self.make_id(i as u32, s.generation), v.clone()))).collect()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().live
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_never_resolve() {
        let t = Table::new(Kind::Surface);
        let (a, _) = t.insert(1u32).unwrap();
        assert_eq!(*t.get(a).unwrap(), 1);
        assert!(t.remove(a).is_some());
        assert!(t.get(a).is_none());
        let (b, _) = t.insert(2u32).unwrap();
        // the slot is reused, the id is not
        assert_ne!(a, b);
        assert_eq!(a & INDEX_MASK, b & INDEX_MASK);
        assert!(t.get(a).is_none());
        assert!(t.remove(a).is_none());
        assert_eq!(*t.get(b).unwrap(), 2);
    }

    #[test]
    fn wrong_kind_never_resolves() {
        let s = Table::new(Kind::Surface);
        let c = Table::new(Kind::Context);
        let (sid, _) = s.insert(()).unwrap();
        let (cid, _) = c.insert(()).unwrap();
        assert!(c.get(sid).is_none());
        assert!(s.get(cid).is_none());
        assert!(s.get(0).is_none());
        assert!(s.get(u32::MAX).is_none());
    }

    #[test]
    fn ids_are_never_va_invalid_id() {
        let t = Table::new(Kind::Image);
        for _ in 0..5000 {
            let (id, _) = t.insert(()).unwrap();
            assert_ne!(id, u32::MAX);
            assert_ne!(id, 0);
            t.remove(id);
        }
        assert!(t.is_empty());
    }

    #[test]
    fn drain_empties() {
        let t = Table::new(Kind::Buffer);
        for i in 0..10 {
            t.insert(i).unwrap();
        }
        assert_eq!(t.drain().len(), 10);
        assert_eq!(t.len(), 0);
    }
}
