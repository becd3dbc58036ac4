//! Test component `test-wrong-world`: a valid component exporting an unrelated world
//! (`hello: func() -> string`). The host must refuse it as neither provider nor fixup.

wit_bindgen::generate!({
    inline: "
        package test:wrong-world;

        world greeter {
            export hello: func() -> string;
        }
    ",
});

/// The component.
struct Greeter;

impl Guest for Greeter {
    fn hello() -> String {
        "hello from the wrong world".to_string()
    }
}

export!(Greeter);
