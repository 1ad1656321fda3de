# format/: the trace file (see docs/trace-format.md). trace.proto is compiled
# by protoc-c into $(BUILD)/gen/format/ (never committed).
FORMAT_GEN := $(BUILD)/gen/format/trace.pb-c.c
format_SRCS := format/trace_common.c format/trace_io.c format/trace_writer.c \
               format/trace_record.c format/trace_reader.c \
               format/trace_header_footer.c format/trace_verify.c $(FORMAT_GEN)
GEN_SRCS += $(FORMAT_GEN)
INSTALL_HEADERS += format/trace.h
COMPONENTS += format

$(FORMAT_GEN): format/trace.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --proto_path=. --c_out=$(BUILD)/gen format/trace.proto
$(BUILD)/gen/format/trace.pb-c.h: $(FORMAT_GEN)
