"""RegisterMap: a design's registers by name.

    class Regs(bitfarm.RegisterMap):
        ID = bitfarm.Register(0x0, readonly=True, doc="reads 0x48454c4f")
        A = 0x4                     # a plain int is a read/write register
        B = 0x8
        SUM = bitfarm.Register(0xC, readonly=True)

    regs = Regs(board)              # board: a Session (anything with read/write)
    regs.A = 5                      # board.write(0x4, 5)
    print(regs.SUM)                 # board.read(0xC)
    board.read(Regs.SUM)            # on the class, a register is its offset (an int)

Each register is a data descriptor (Register, an int subclass): read
through an instance it reads the board, assigned it writes the board,
and on the class it is its byte offset.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional


class Register(int):
    """A register at a byte offset (4-byte aligned) in a RegisterMap.

    On the class, it is the offset itself (``Regs.A == 4``, usable as an
    address).  Through an instance it reads (``regs.A``) and writes
    (``regs.A = 5``) the board at the map's base plus the offset.
    readonly=True makes assignment an AttributeError.
    """

    name: Optional[str]
    readonly: bool

    def __new__(cls, offset: int, *, readonly: bool = False,
                doc: Optional[str] = None) -> "Register":
        self = super().__new__(cls, offset)
        if self < 0 or self > 0xFFFFFFFF or self % 4:
            raise ValueError(f"register offset {int(self):#x} is not a 4-byte aligned "
                             "32-bit address")
        self.name = None
        self.readonly = readonly
        if doc is not None:
            self.__doc__ = doc
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        if self.name is None:
            self.name = name

    def __get__(self, obj: Any, objtype: Optional[type] = None) -> Any:
        if obj is None:
            return self
        return obj._board.read(obj._base + int(self))

    def __set__(self, obj: Any, value: int) -> None:
        if self.readonly:
            raise AttributeError(f"register '{self.name}' is read-only")
        obj._board.write(obj._base + int(self), value)

    def __repr__(self) -> str:
        ro = ", readonly=True" if self.readonly else ""
        return f"Register({int(self):#x}{ro})" if self.name is None else \
            f"<Register {self.name} at {int(self):#x}{' (read-only)' if self.readonly else ''}>"


class RegisterMap:
    """A design's registers by name, over a board.

    Subclass it with one class attribute per register: a Register, or a
    plain int (a read/write register at that byte offset).  Attributes
    starting with "_" and values that are not ints are left alone, so a
    map may hold constants and methods too.  Maps inherit: a subclass has
    its bases' registers and may add more.

    RegisterMap(board, base=0): board is a Session (or anything with
    read(addr) and write(addr, value)); base is added to every offset
    (one map for several instances of a peripheral).  Assigning a name
    that is not a register is an AttributeError, so a misspelt register
    never writes nothing silently.
    """

    _registers: ClassVar[Dict[str, Register]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        regs: Dict[str, Register] = {}
        for base in reversed(cls.__mro__[1:]):
            regs.update(getattr(base, "_registers", {}))
        for name, value in list(vars(cls).items()):
            if name.startswith("_"):
                continue
            if type(value) is int:
                value = Register(value)
                value.name = name
                setattr(cls, name, value)
            if isinstance(value, Register):
                regs[name] = value
        cls._registers = regs

    def __init__(self, board: Any, base: int = 0) -> None:
        if base < 0 or base % 4:
            raise ValueError(f"base {base:#x} is not a 4-byte aligned address")
        object.__setattr__(self, "_board", board)
        object.__setattr__(self, "_base", base)

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and name not in self._registers:
            raise AttributeError(f"no register '{name}' in {type(self).__name__}")
        object.__setattr__(self, name, value)

    @classmethod
    def registers(cls) -> Dict[str, Register]:
        """The registers by name, in the order they were defined."""
        return dict(cls._registers)

    def read_all(self) -> Dict[str, int]:
        """Every register's value, read one after another, by name."""
        return {name: self._board.read(self._base + int(reg))
                for name, reg in self._registers.items()}

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} at {self._base:#x} on {self._board!r}: "
                + ", ".join(f"{n}={int(r):#x}" for n, r in self._registers.items()) + ">")
