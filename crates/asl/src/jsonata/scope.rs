//! Variable scopes: a block or a function call opens one, lookups walk outwards.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::value::J;

#[derive(Debug, Default)]
pub(crate) struct Scope {
    vars: RefCell<HashMap<String, J>>,
    parent: Option<Rc<Scope>>,
}

impl Scope {
    pub(crate) fn root(vars: HashMap<String, J>) -> Rc<Scope> {
        Rc::new(Scope {
            vars: RefCell::new(vars),
            parent: None,
        })
    }

    pub(crate) fn child(parent: &Rc<Scope>) -> Rc<Scope> {
        Rc::new(Scope {
            vars: RefCell::new(HashMap::new()),
            parent: Some(Rc::clone(parent)),
        })
    }

    pub(crate) fn bind(&self, name: &str, value: J) {
        self.vars.borrow_mut().insert(name.to_string(), value);
    }

    /// Drops every binding: breaks the cycles a function bound in its own scope makes.
    pub(crate) fn clear(&self) {
        self.vars.borrow_mut().clear();
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<J> {
        if let Some(value) = self.vars.borrow().get(name) {
            return Some(value.clone());
        }
        self.parent.as_ref().and_then(|p| p.lookup(name))
    }
}
