"""A typed key is drawn before a pending layout of other widgets; it lays out when it must."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Static

from offyai_tui.ui.screens.keys_first import KeysFirstScreen
from offyai_tui.ui.widgets.chat.prompt_input import PromptInput


class TypingScreen(KeysFirstScreen[None]):
    def compose(self) -> ComposeResult:
        yield Static("an answer that streams", id="answer")
        yield PromptInput(id="prompt")

    def on_mount(self) -> None:
        self.query_one(PromptInput).focus()


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[tuple[str, int]] = []
        """(prompt text, layouts so far) for every frame handed to the driver."""
        self.layouts = 0

    def on_mount(self) -> None:
        self.push_screen(TypingScreen())

    def watch_frames(self) -> PromptInput:
        screen = self.screen
        prompt = screen.query_one(PromptInput)
        layout, display = screen._refresh_layout, self._display

        def counting(*args, **kwargs):
            self.layouts += 1
            return layout(*args, **kwargs)

        def framing(on, renderable) -> None:
            display(on, renderable)
            if renderable is not None:
                self.frames.append((prompt.text, self.layouts))

        screen._refresh_layout = counting
        self._display = framing
        return prompt


def answer_asks_for_a_layout(screen: KeysFirstScreen) -> None:
    """What each append of a streamed answer does: the screen owes a layout."""
    answer = screen.query_one("#answer")
    screen._layout_widgets.setdefault(screen, set()).add(answer)
    screen._layout_required = True


async def test_a_typed_character_is_drawn_before_the_pending_layout() -> None:
    app = Host()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        prompt = app.watch_frames()
        answer_asks_for_a_layout(app.screen)
        app.post_message(events.Key("q", "q"))
        await pilot.pause()
        await pilot.pause(0.1)
        echoed = [layouts for text, layouts in app.frames if text == "q"]
        assert prompt.text == "q"
        assert echoed and echoed[0] == 0, f"the echo waited for the layout: {app.frames}"
        assert app.layouts >= 1, "the pending layout never ran"
        assert not app.screen._layout_required


async def test_a_key_that_grows_the_prompt_waits_for_its_layout() -> None:
    app = Host()
    async with app.run_test(size=(30, 14)) as pilot:
        await pilot.pause()
        prompt = app.watch_frames()
        height = prompt.outer_size.height
        text = "a long line that wraps more than three times " * 3 + "in a narrow prompt box"
        await pilot.press(*text)
        await pilot.pause(0.1)
        assert prompt.outer_size.height > height
        assert prompt.render_line(prompt.size.height - 1).text.strip().endswith("box")
