//! A call's named variables: kept in arrival order for the events, found by name through a
//! map (a linear scan let one client with many variables slow every other client), and capped
//! in count and bytes.

use std::collections::HashMap;

/// Why a variable was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarsFull {
    /// More names than the cap.
    Count,
    /// More bytes than the cap.
    Bytes,
}

/// The named variables of one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallVars {
    list: Vec<(String, String)>,
    index: HashMap<String, usize>,
    bytes: usize,
}

impl CallVars {
    /// Variables a call starts with (a scripted inbound call); not capped, they come from the
    /// configuration.
    pub(crate) fn from_list(list: Vec<(String, String)>) -> CallVars {
        let mut vars = CallVars::default();
        for (name, value) in list {
            vars.put(name, value);
        }
        vars
    }

    fn put(&mut self, name: String, value: String) {
        match self.index.get(&name).and_then(|&i| self.list.get_mut(i)) {
            Some(slot) => {
                self.bytes = self.bytes - slot.1.len() + value.len();
                slot.1 = value;
            }
            None => {
                self.bytes += name.len() + value.len();
                self.index.insert(name.clone(), self.list.len());
                self.list.push((name, value));
            }
        }
    }

    /// Store every variable of one request, or none when the caps would be passed.
    pub(crate) fn store(
        &mut self,
        vars: &[(String, String)],
        max_count: usize,
        max_bytes: usize,
    ) -> Result<(), VarsFull> {
        let mut count = self.list.len();
        let mut bytes = self.bytes;
        for (name, value) in vars {
            match self.index.get(name).and_then(|&i| self.list.get(i)) {
                Some((_, old)) => bytes = bytes - old.len() + value.len(),
                None => {
                    count += 1;
                    bytes += name.len() + value.len();
                }
            }
        }
        if count > max_count {
            return Err(VarsFull::Count);
        }
        if bytes > max_bytes {
            return Err(VarsFull::Bytes);
        }
        for (name, value) in vars {
            self.put(name.clone(), value.clone());
        }
        Ok(())
    }

    /// In arrival order.
    pub(crate) fn list(&self) -> &[(String, String)] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: &str, x: &str) -> (String, String) {
        (n.into(), x.into())
    }

    #[test]
    fn caps_refuse_a_whole_request_and_replacing_does_not_count() {
        let mut vars = CallVars::default();
        assert_eq!(vars.store(&[v("a", "1"), v("b", "2")], 2, 100), Ok(()));
        assert_eq!(vars.store(&[v("a", "3")], 2, 100), Ok(()));
        assert_eq!(vars.store(&[v("c", "1")], 2, 100), Err(VarsFull::Count));
        assert_eq!(
            vars.store(&[v("a", &"x".repeat(200))], 2, 100),
            Err(VarsFull::Bytes)
        );
        assert_eq!(vars.list(), &[v("a", "3"), v("b", "2")]);
    }
}
