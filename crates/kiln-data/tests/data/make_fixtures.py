#!/usr/bin/env python3
"""Writes the small malformed and edge-case fixtures used by kiln-data's tests.

Run from this directory: `python3 make_fixtures.py`. Output is deterministic.
"""
import gzip
import struct


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(name, mode) as f:
        f.write(data)


# --- CSV -----------------------------------------------------------------------------------
write("empty.csv", b"")
write("header_only.csv", "a,b,c\n")
write("duplicate_header.csv", "id,value,id\n1,2,3\n")
write("ragged.csv", "x,y,z\n1,2,3\n4,5,6\n7,8\n10,11,12\n")
# A value that does not parse under a fixed float schema (line 4).
write("bad_number.csv", "x,y\n1.5,2\n2.5,3\nabc,4\n")
# Invalid UTF-8 (a lone 0xff byte) in column `name`, line 3.
write("invalid_utf8.csv", b"id,name\n1,alice\n2,b\xffb\n")
# Every inferred type, missing values in several spellings, quoted fields with newlines.
write(
    "types.csv",
    "int,float,bool,cat,text,allmissing\n"
    "1,1.5,true,red,\"hello, world\",\n"
    "2,,false,blue,\"line one\nline two\",NA\n"
    "NA,3.25,True,red,plain,\n"
    "4,-0.5,FALSE,,\"she said \"\"hi\"\"\",\n",
)
# A gzip copy, to check transparent decompression.
with open("types.csv", "rb") as f:
    write("types.csv.gz", gzip.compress(f.read(), mtime=0))
# Text dataset with long fields, commas and newlines.
rows = ["text,label"]
for i in range(6):
    body = ("word%d, " % i) * (50 if i % 2 else 3) + "\nsecond line"
    rows.append('"%s",%s' % (body, "spam" if i % 2 else "ham"))
write("text_small.csv", "\n".join(rows) + "\n")
# A quality suite in TOML.
write(
    "suite.toml",
    """[[check]]
check = "not_null"
column = "sex"

[[check]]
check = "range"
column = "bill_length_mm"
min = 35.0
max = 60.0

[[check]]
check = "in_set"
column = "island"
values = ["Biscoe", "Dream", "Torgersen"]

[[check]]
check = "row_count"
min = 300

[[check]]
check = "regex"
column = "island"
pattern = "[A-Z][a-z]+"
""",
)


# --- IDX -----------------------------------------------------------------------------------
def idx(type_code, dims, payload):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


good_images = idx(0x08, [2, 2, 3], bytes(range(12)))
good_labels = idx(0x08, [2], bytes([3, 7]))
write("images_ok.idx3", good_images)
write("labels_ok.idx1", good_labels)
write("images_ok.idx3.gz", gzip.compress(good_images, mtime=0))
write("truncated.idx3", good_images[:-5])
write("trailing.idx3", good_images + b"\x00\x00")
write("bad_magic.idx3", b"\x01\x02" + good_images[2:])
write("bad_type.idx3", bytes([0, 0, 0x07, 3]) + good_images[4:])
write("truncated_header.idx3", good_images[:9])
write("labels_mismatch.idx1", idx(0x08, [3], bytes([1, 2, 3])))
write("labels_out_of_range.idx1", idx(0x08, [2], bytes([1, 12])))
write("floats.idx2", idx(0x0D, [2, 2], struct.pack(">4f", 1.0, -2.5, 0.0, 3.25)))
# A gzip stream cut off in the middle.
write("corrupt.idx3.gz", gzip.compress(good_images, mtime=0)[:20])
