// placement_map.cpp - see placement_map.h.
#include "placement_map.h"

#include "bios.h"
#include "bootproto.h"
#include "common/size.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <optional>
#include <set>

namespace bzcheck {
namespace bp = bootproto;

namespace {

// --- the PC's first megabyte, beyond what the includes carry ----------------------
constexpr std::uint64_t BIOS_RESERVED_END = 0x1000;  // boot.rst: below it "BIOS use only", "Reserved for MBR/BIOS"
// The I/O hole from LOW_MEMORY_LIMIT (0xA0000): VGA memory, then option ROMs and the system BIOS.
constexpr std::uint64_t VGA_MEMORY_END = 0xC0000;
constexpr std::uint64_t LOW_MEGABYTE_END = bzboot::MiB;
// Real mode: SP is 16 bits; SP 0 is the top of its 64 KiB segment.
constexpr std::uint64_t REAL_MODE_SEGMENT_SIZE = 0x10000;
constexpr std::uint64_t SP_MASK = REAL_MODE_SEGMENT_SIZE - 1;

// --- the picture -------------------------------------------------------------------
constexpr std::size_t MIN_ADDRESS_DIGITS = 8;                                // "0x0009fc00"
constexpr std::size_t LABEL_COLUMNS = 30;                                    // "init_size (load, pref_address)"
constexpr std::size_t SIZE_COLUMNS = 10;                                     // "1023.9 KiB"
constexpr std::size_t BOX_WIDTH = 1 + LABEL_COLUMNS + 1 + SIZE_COLUMNS + 1;  // between "|" and "|"

// --- what lies where ----------------------------------------------------------------

// A window is memory the kernel will need (init_size from a start it may run
// at), not memory the loader filled: it names a piece only where no object lies.
// A reservation is memory the kernel will take for itself (the decompressor's
// trampoline), named as it is, and like a window only where no object lies.
enum class Layer { object, window, reservation };
struct Extent {
    std::string name;          // a window's: the start it counts from, "load" or "pref_address"
    std::uint64_t start, end;  // [start, end)
    Layer layer;
};
// One address. A landmark ("X") only names its boundary and takes no marks.
struct Point {
    std::string name;  // empty: a rule's address that lies in no object
    std::uint64_t at;
    bool landmark = false;
    std::vector<std::string> marks = {};
};
struct Placement {
    std::vector<Extent> extents;
    std::vector<Point> points;

    // A BIOS area or window: nothing when empty.
    void area(std::string name, std::uint64_t start, std::uint64_t end, Layer layer = Layer::object) {
        if (end > start) extents.push_back({std::move(name), start, end, layer});
    }
    // Something the loader placed: a point when empty or wrapping past 2^64, so that it still shows.
    void object(std::string name, std::uint64_t start, std::uint64_t end) {
        if (end > start)
            extents.push_back({std::move(name), start, end, Layer::object});
        else
            points.push_back({std::move(name), start});
    }
};

bool is16(const Handoff& h) { return h.kind == HandoffKind::real16; }

void add_bios_areas(const Handoff& h, Placement& p) {
    p.area("IVT + BIOS data area", 0, bios::BDA_END);
    p.area("reserved (MBR/BIOS)", bios::BDA_END, BIOS_RESERVED_END);
    const bool has_ebda = h.bda_ebda != 0 && h.bda_ebda < LOW_MEMORY_LIMIT;
    const std::uint64_t ebda = has_ebda ? h.bda_ebda : LOW_MEMORY_LIMIT;
    p.area("beyond base memory", h.low_memory_top, ebda);  // INT 12h's base memory ends below the EBDA
    if (has_ebda) p.area("EBDA", ebda, LOW_MEMORY_LIMIT);
    p.area("VGA memory", LOW_MEMORY_LIMIT, VGA_MEMORY_END);
    p.area("ROMs and system BIOS", VGA_MEMORY_END, LOW_MEGABYTE_END);
}

// 16-bit: boot.rst's X, setup, stack/heap and the stack pointer.
void add_real_mode_code(const Handoff& h, Placement& p) {
    const std::uint64_t setup_end = h.base + h.in.kernel.setup_size;
    p.object("real-mode setup", h.base, setup_end);
    p.points.push_back({"X", h.base, true});
    if (h.field(bp::HDR_LOADFLAGS) & bp::CAN_USE_HEAP) {
        const std::uint64_t heap_end = h.base + h.field(bp::HDR_HEAP_END_PTR) + bp::SETUP_ENTRY_OFFSET;
        if (heap_end > setup_end)
            p.object("stack/heap", setup_end, heap_end);
        else
            p.points.push_back({"heap end", heap_end});  // inside the setup (R04)
    }
    const CpuState& cpu = h.snap.cpu;
    const std::uint64_t sp = cpu.rsp & SP_MASK;
    p.points.push_back({fmt::format("SS:SP {:04x}:{:04x}", cpu.ss.selector, sp),
                        cpu.ss.base + (sp == 0 ? REAL_MODE_SEGMENT_SIZE : sp)});
}

void add_cmdline(const Handoff& h, Placement& p) {
    const std::uint64_t at = h.cmdline_address();
    if (at == 0) return;
    if (const auto cmdline = h.cmdline())
        p.object("command line", at, at + cmdline->size() + 1);
    else
        p.points.push_back({"command line without NUL", at});
}

// The protected-mode kernel and the init_size it needs from its start: where it
// is, and where it prefers to decompress (init_size is 0 before protocol 2.10).
void add_kernel(const Handoff& h, Placement& p) {
    const KernelImage& k = h.in.kernel;
    p.object("protected-mode kernel", h.load_address, h.load_address + (k.bytes.size() - k.setup_size));
    p.area("load", h.load_address, h.load_address + k.init_size, Layer::window);
    if (k.pref_address != h.load_address)
        p.area("pref_address", k.pref_address, k.pref_address + k.init_size, Layer::window);
}

// 64-bit: every table page reached from CR3 that is RAM, contiguous pages as one
// extent. (One outside RAM is no placement but an entry's garbage: the walk's problem.)
void add_page_tables(const Handoff& h, Placement& p) {
    if (!h.walk) return;
    std::vector<std::uint64_t> pages;
    for (const std::uint64_t page : h.walk->table_pages)
        if (h.snap.in_ram(page, PAGE_4K)) pages.push_back(page);
    std::sort(pages.begin(), pages.end());
    pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
    for (std::size_t first = 0, last = 0; first < pages.size(); first = ++last) {
        while (last + 1 < pages.size() && pages[last + 1] == pages[last] + PAGE_4K) ++last;
        p.object(last == first ? "page table" : "page tables", pages[first], pages[last] + PAGE_4K);
    }
}

Placement placement(const Handoff& h) {
    Placement p;
    add_bios_areas(h, p);
    if (is16(h))
        add_real_mode_code(h, p);
    else
        p.object("boot_params", h.base, h.base + bp::BP_SIZE);
    add_cmdline(h, p);
    add_kernel(h, p);
    if (h.initrd_size() > 0) p.object("initrd", h.initrd_address(), h.initrd_address() + h.initrd_size());
    add_page_tables(h, p);
    // The 32/64-bit decompressor's trampoline (R22): memory it will take, so a window.
    if (!is16(h) && h.has_e820()) {
        const std::uint64_t at = trampoline_address(h);
        p.area("decompressor's trampoline", at, at + bp::TRAMPOLINE_RESERVE, Layer::reservation);
    }
    return p;
}

// --- the rules' complaints ------------------------------------------------------------

struct Mark {
    std::uint64_t at;
    std::string text;  // "R05 FAIL"
};

// Anything but PASS and N/A: FAIL, and WARN or whatever verdict comes next.
bool complains(Status status) { return status != Status::pass && status != Status::not_applicable; }

// A rule naming [start, end) gives both addresses: the end closes the object
// another of them lies in, and says nothing about what follows it.
bool closes_named_object(std::uint64_t at, const std::vector<std::uint64_t>& addresses,
                         const std::vector<Extent>& extents) {
    return std::any_of(extents.begin(), extents.end(), [&](const Extent& e) {
        return e.end == at && std::any_of(addresses.begin(), addresses.end(),
                                          [&](std::uint64_t other) { return other >= e.start && other < e.end; });
    });
}

std::vector<Mark> complaints(const std::vector<RuleResult>& results, const std::vector<Extent>& extents) {
    std::vector<Mark> marks;
    for (const RuleResult& r : results) {
        if (!complains(r.status)) continue;
        for (const std::uint64_t at : r.addresses)
            if (!closes_named_object(at, r.addresses, extents))
                marks.push_back({at, fmt::format("{} {}", r.id, status_name(r.status))});
    }
    return marks;
}

// --- pieces: memory cut at every start and end ---------------------------------------

struct Piece {
    std::uint64_t start, end;
    std::string label;  // what lies there; empty: nothing
    std::vector<std::string> marks = {};
    bool free() const { return label.empty(); }
};

std::string cover_label(const std::vector<Extent>& extents, std::uint64_t start, std::uint64_t end) {
    std::vector<std::string> objects, windows, reservations;
    for (const Extent& e : extents) {
        if (e.start > start || end > e.end) continue;
        if (e.layer == Layer::object) objects.push_back(e.name);
        if (e.layer == Layer::window) windows.push_back(e.name);
        if (e.layer == Layer::reservation) reservations.push_back(e.name);
    }
    if (!objects.empty()) return fmt::format("{}", fmt::join(objects, " + "));
    if (!reservations.empty()) return fmt::format("{}", fmt::join(reservations, " + "));
    return windows.empty() ? "" : fmt::format("init_size ({})", fmt::join(windows, ", "));
}

// [0, top) cut at every extent's start and end and at 1 MiB, where the ladders meet.
std::vector<Piece> cut(const std::vector<Extent>& extents, std::uint64_t top) {
    std::set<std::uint64_t> cuts = {0, LOW_MEGABYTE_END, top};
    for (const Extent& e : extents) cuts.insert({e.start, e.end});
    std::vector<Piece> pieces;
    for (auto at = cuts.begin(), next = std::next(at); next != cuts.end(); at = next++)
        pieces.push_back({*at, *next, cover_label(extents, *at, *next)});
    return pieces;
}

// The highest address drawn: the ladders reach every extent, point and mark.
std::uint64_t top_address(const Placement& p, const std::vector<Mark>& marks) {
    std::uint64_t top = LOW_MEGABYTE_END;
    for (const Extent& e : p.extents) top = std::max(top, e.end);
    for (const Point& point : p.points) top = std::max(top, point.at);
    for (const Mark& mark : marks) top = std::max(top, mark.at);
    return top;
}

void add_once(std::vector<std::string>& marks, const std::string& text) {
    if (std::find(marks.begin(), marks.end(), text) == marks.end()) marks.push_back(text);
}

// A mark lands on the points at its address and on the object piece it lies in;
// in free memory, on the object piece that ends there (an end the rule names);
// else on a point of its own.
void place(const Mark& mark, std::vector<Piece>& pieces, std::vector<Point>& points) {
    bool placed = false;
    for (Point& point : points)
        if (point.at == mark.at && !point.landmark) add_once(point.marks, mark.text), placed = true;
    auto piece = std::find_if(pieces.begin(), pieces.end(),
                              [&](const Piece& p) { return !p.free() && p.start <= mark.at && mark.at < p.end; });
    if (piece == pieces.end())
        piece =
            std::find_if(pieces.begin(), pieces.end(), [&](const Piece& p) { return !p.free() && p.end == mark.at; });
    if (piece != pieces.end()) add_once(piece->marks, mark.text), placed = true;
    if (!placed) points.push_back({"", mark.at, false, {mark.text}});
}

// --- drawing ----------------------------------------------------------------------------

// "29 B", "2.5 KiB", "15 MiB": rounded down, so that free memory is never overstated.
std::string size_text(std::uint64_t bytes) {
    static constexpr const char* UNITS[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < bzboot::KiB) return fmt::format("{} B", bytes);
    double value = static_cast<double>(bytes) / bzboot::KiB;
    std::size_t unit = 0;
    while (value >= bzboot::KiB && unit + 1 < std::size(UNITS)) value /= bzboot::KiB, ++unit;
    const double tenths = std::floor(value * 10) / 10;
    return fmt::format(tenths == std::floor(tenths) ? "{:.0f} {}" : "{:.1f} {}", tenths, UNITS[unit]);
}

bool touches(const RangeSet& set, std::uint64_t start, std::uint64_t end) {
    return std::any_of(set.ranges().begin(), set.ranges().end(),
                       [&](const RangeSet::Range& r) { return r.start < end && start < r.end; });
}

// "(free, 26.9 KiB)": free if it is all usable RAM (handoff.h: the dump's RAM, E820's RAM).
std::string gap_label(const Piece& piece, const RangeSet& usable) {
    const std::uint64_t size = piece.end - piece.start;
    const char* what = usable.contains(piece.start, size)        ? "free"
                       : touches(usable, piece.start, piece.end) ? "partly usable RAM"
                                                                 : "no usable RAM";
    return fmt::format("({}, {})", what, size_text(size));
}

class Drawing {
public:
    Drawing(const std::vector<Point>& points, const RangeSet& usable, std::uint64_t top)
        : points_(points), usable_(usable), digits_(std::max(MIN_ADDRESS_DIGITS, fmt::format("{:x}", top).size())) {}

    void title(const std::string& text) { out_ += text + "\n"; }
    // boot.rst's "~": memory goes on above.
    void continuation() { out_ += fmt::format("{} ~{}~\n", margin(), std::string(BOX_WIDTH, ' ')); }
    void boundary(std::uint64_t at, bool annotated) {
        out_ += fmt::format("{} +{}+{}\n", address(at), std::string(BOX_WIDTH, '-'), annotated ? notes_at(at) : "");
    }
    void point(std::uint64_t at) {
        std::string dots;
        for (std::size_t i = 0; i < BOX_WIDTH; ++i) dots += i % 2 ? '.' : ' ';
        out_ += fmt::format("{} |{}|{}\n", address(at), dots, notes_at(at));
    }
    void body(const Piece& piece) {
        const std::string inside =
            piece.free() ? fmt::format("{:<{}}", gap_label(piece, usable_), LABEL_COLUMNS + 1 + SIZE_COLUMNS)
                         : fmt::format("{:<{}} {:>{}}", piece.label, LABEL_COLUMNS, size_text(piece.end - piece.start),
                                       SIZE_COLUMNS);
        out_ += fmt::format("{} | {} |{}\n", margin(), inside, marks_text(piece.marks));
    }
    // The points strictly inside piece, highest first.
    void points_inside(const Piece& piece) {
        std::set<std::uint64_t, std::greater<>> inside;
        for (const Point& p : points_)
            if (p.at > piece.start && p.at < piece.end) inside.insert(p.at);
        for (std::uint64_t at : inside) point(at);
    }
    std::string text() const { return out_; }

private:
    std::string address(std::uint64_t at) const { return fmt::format("0x{:0{}x}", at, digits_); }
    std::string margin() const { return std::string(digits_ + 2, ' '); }
    static std::string marks_text(const std::vector<std::string>& marks) {
        return marks.empty() ? "" : fmt::format(" <-- {}", fmt::join(marks, ", "));
    }
    // " <- SS:SP 9000:9000 <-- R16 FAIL": the points at `at`, then the rules that complain there.
    std::string notes_at(std::uint64_t at) const {
        std::vector<std::string> names, marks;
        for (const Point& p : points_) {
            if (p.at != at) continue;
            if (!p.name.empty()) names.push_back(p.name);
            for (const auto& mark : p.marks) add_once(marks, mark);
        }
        return (names.empty() ? "" : fmt::format(" <- {}", fmt::join(names, ", "))) + marks_text(marks);
    }

    const std::vector<Point>& points_;
    const RangeSet& usable_;
    std::size_t digits_;
    std::string out_;
};

// One ladder: pieces [first, last), highest on top, each between its boundaries.
// The top boundary carries its points' notes only where no ladder lies above.
void draw_ladder(Drawing& d, std::vector<Piece>::const_iterator first, std::vector<Piece>::const_iterator last,
                 bool top_annotated) {
    for (auto piece = last; piece != first;) {
        --piece;
        if (piece == std::prev(last)) d.boundary(piece->end, top_annotated);
        d.points_inside(*piece);
        d.body(*piece);
        d.boundary(piece->start, true);
    }
}

}  // namespace

std::string placement_map(const Handoff& h, const std::vector<RuleResult>& results) {
    Placement p = placement(h);
    const std::vector<Mark> marks = complaints(results, p.extents);
    const std::uint64_t top = top_address(p, marks);
    std::vector<Piece> pieces = cut(p.extents, top);
    for (const Mark& mark : marks) place(mark, pieces, p.points);

    Drawing d(p.points, h.usable_ram, top);
    d.title(fmt::format("placement at the {} hand-off", handoff_name(h.kind)));
    const auto high =
        std::find_if(pieces.begin(), pieces.end(), [](const Piece& piece) { return piece.start >= LOW_MEGABYTE_END; });
    d.title("\nlow megabyte:");
    draw_ladder(d, pieces.begin(), high, high == pieces.end());
    d.title("\nabove 1 MiB:");
    if (high == pieces.end()) {
        d.title("  nothing placed");
    } else {
        d.continuation();
        draw_ladder(d, high, pieces.end(), true);
    }
    return d.text();
}

}  // namespace bzcheck
